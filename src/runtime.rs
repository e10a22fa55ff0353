//! How blocking work (file writes, fsyncs, SQLite commits) runs inside the
//! async runtime without stalling it. A leaf module: std and tokio only.

/// Runs `f`, which may block on the disk, so that the other tasks of a
/// multi-threaded runtime keep running meanwhile: the UI keeps drawing and
/// the other folders keep talking to the server while a file is fsynced.
/// On a single-threaded runtime (unit tests) or outside any runtime it just
/// runs `f`.
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
