fn main() {
    std::process::exit(stormtrack::cli::main());
}
