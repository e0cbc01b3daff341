//! The README tells the truth: its install command names exactly the
//! packages `scripts/setup.sh` installs, its format examples are the real
//! first lines of the command it names, and it stays a user's page.

use std::collections::BTreeSet;

use crate::common::{run, stderr, stormtrack};

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

/// The words of setup.sh's `PACKAGES=( ... )` list.
fn setup_packages() -> BTreeSet<String> {
    let setup = std::fs::read_to_string("scripts/setup.sh").unwrap();
    let start = setup.find("PACKAGES=(").unwrap() + "PACKAGES=(".len();
    let end = start + setup[start..].find("\n)").unwrap();
    setup[start..end]
        .lines()
        .flat_map(|l| l.split('#').next().unwrap().split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// The packages of the README's `apt-get install` command.
fn readme_packages() -> BTreeSet<String> {
    let text = readme();
    let start = text.find("apt-get install").unwrap() + "apt-get install".len();
    let end = start + text[start..].find("\n```").unwrap();
    text[start..end]
        .split_whitespace()
        .filter(|w| *w != "\\" && !w.starts_with('-') && !w.contains('/'))
        .take_while(|w| *w != "cargo")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_install_command_names_what_setup_installs() {
    assert_eq!(readme_packages(), setup_packages());
}

#[test]
fn the_readme_is_a_users_page() {
    let size = readme().len();
    assert!(
        size <= 16_000,
        "README.md is {size} bytes; move internals to docs/"
    );
}

/// The ```text block after the README's `**FORMAT**` paragraph.
fn example(format: &str) -> Vec<String> {
    let text = readme();
    let at = text
        .find(&format!("\n**{format}**"))
        .unwrap_or_else(|| panic!("no **{format}** paragraph"));
    let block = at + text[at..].find("```text\n").unwrap() + "```text\n".len();
    let end = block + text[block..].find("```").unwrap();
    text[block..end].lines().map(str::to_owned).collect()
}

#[test]
fn format_examples_are_the_output_of_the_command_shown() {
    let text = readme();
    let shown = "stormtrack track data/era5_msl_2025-2026_djf_2.5x2.5.nc --var\nmsl -o - -f FORMAT";
    assert!(
        text.contains(shown),
        "the README no longer names the command"
    );
    for format in ["imilast", "csv"] {
        let o = run(stormtrack().args([
            "track",
            "data/era5_msl_2025-2026_djf_2.5x2.5.nc",
            "--var",
            "msl",
            "-q",
            "-o",
            "-",
            "-f",
            format,
        ]));
        assert!(o.status.success(), "{}", stderr(&o));
        let want = example(format);
        let got: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .take(want.len())
            .map(str::to_owned)
            .collect();
        assert_eq!(got, want, "the README's {format} example");
    }
}
