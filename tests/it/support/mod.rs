//! Support code the test modules share: the bench's environment and Docker engine ([`bench`]), the
//! AWS emulator ([`emulator`]), an HTTP stub for endpoints with no stand-in ([`http_stub`]), an
//! instance-metadata stand-in ([`imds`]), and provisioning fixtures ([`provision`]).

pub mod bench;
pub mod emulator;
pub mod http_stub;
pub mod imds;
pub mod provision;

/// insta settings under which a test module's snapshots stay where they have always been,
/// `tests/snapshots/<area>__<name>.snap` (the snapshot names carry the `<area>__` prefix), now
/// that the modules live in one test binary. Bound until the guard is dropped.
pub fn snapshots() -> insta::internals::SettingsBindDropGuard {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.bind_to_scope()
}
