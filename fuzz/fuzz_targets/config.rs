//! `seam.toml`: any text parsed and resolved, with every `${VAR}` set to a
//! value, as `seam check-config` does. Must never panic: every problem is
//! a located error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("seam.toml");
    let _ = seam_config::parse(text, path, &|name| Some(format!("value-of-{name}")));
    let _ = seam_config::parse(text, path, &|_| None);
});
