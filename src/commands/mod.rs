//! One module per subcommand: its clap arguments and how it runs.

pub mod compare;
pub mod convert;
pub mod hodges_args;
pub mod info;
pub mod track;
