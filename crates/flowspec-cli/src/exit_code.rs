//! Exit codes of `flowspec`, documented in docs/cli.md.

/// Everything worked (failed `fail_mode: continue` hooks included: they never fail the emit).
pub const OK: u8 = 0;
/// An unexpected error: I/O, the state store, an invalid event.
pub const ERROR: u8 = 1;
/// The command line is wrong (clap's own code).
#[allow(dead_code)]
pub const USAGE: u8 = 2;
/// The configuration is invalid or missing (hooks.yaml, flowspec.yaml, .env).
pub const CONFIG_INVALID: u8 = 3;
/// A `fail_mode: stop` hook failed or timed out: the emit is blocked.
pub const HOOK_BLOCKED: u8 = 4;
/// `flowspec hooks test`: the hook failed or timed out.
pub const HOOK_FAILED: u8 = 5;
/// `flowspec serve` could not start: no source has a secret, or the address is taken.
pub const SERVE_FAILED: u8 = 6;
/// `flowspec notify test|send|replay`: a notification could not be delivered.
pub const NOTIFY_FAILED: u8 = 7;
/// `flowspec watch --once`: at least one file went to failed/.
pub const WATCH_FILES_FAILED: u8 = 8;
/// `flowspec results check`: a test failed that quarantine does not excuse (or a
/// report was cut short, so unknown tests may have failed).
pub const RESULTS_FAILED: u8 = 10;
/// `flowspec results parse`/`ingest`: a report could not be read to its end, or no
/// file held a report (what was read is still printed or stored).
pub const REPORT_INVALID: u8 = 11;
/// `flowspec ci wait` (or `ci trigger --wait`): the run failed.
pub const CI_RUN_FAILED: u8 = 12;
/// `flowspec ci wait`: the run was cancelled.
pub const CI_RUN_CANCELLED: u8 = 13;
/// `flowspec ci wait`: the timeout passed before the run ended (the run keeps going).
pub const CI_WAIT_TIMEOUT: u8 = 14;
/// `flowspec ci ...`: the CI platform refused or failed a request (a rejected token,
/// a run or workflow not found, a rate limit, a server error, an unusable answer).
pub const CI_REQUEST_FAILED: u8 = 15;
/// The transport (Redis) cannot be reached or refused a command (`emit --publish`,
/// `subscribe --once`/`--status`).
pub const TRANSPORT_FAILED: u8 = 16;
/// Interrupted by Ctrl-C (SIGINT); running hooks were stopped.
pub const INTERRUPTED: u8 = 130;
/// stdout was closed by its reader (`flowspec … | head -1`): the program ends quietly,
/// as a shell tool killed by SIGPIPE would (128 + 13).
pub const CLOSED_STDOUT: u8 = 141;
