//! Every write to stdout goes through here. A closed stdout (`flowspec ... | head -1`)
//! ends the program quietly with status 141 (128 + SIGPIPE), as a shell tool does.

use std::io::Write;

/// Writes formatted text to stdout (what [`outln!`] expands to).
pub fn write_fmt(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        fail(error);
    }
}

/// Writes bytes to stdout as they are (logs, generated completions).
pub fn write_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        fail(error);
    }
}

/// Writes rendered text (whole lines) to stdout.
pub fn write_str(text: &str) {
    write_bytes(text.as_bytes());
}

/// Stdout for the live views of `flowspec::render`, with the closed-stdout rule above.
pub struct Stdout;

impl flowspec::render::Console for Stdout {
    fn line(&self, line: &str) {
        write_fmt(format_args!("{line}\n"));
    }
}

fn fail(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(crate::exit_code::CLOSED_STDOUT));
    }
    let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {error}");
    std::process::exit(i32::from(crate::exit_code::ERROR));
}

/// `println!` to stdout through [`write_fmt`].
macro_rules! outln {
    () => {
        $crate::output::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use outln;
