//! `seam bench stock` runs the real stock path end to end, with the hub as
//! a child process; a small run must reflect every movement in Centra (the
//! figures themselves are reported, not asserted: timing belongs to the
//! benchmark, not the test suite).

use std::process::Command;

#[test]
fn a_small_run_reflects_every_movement_and_measures_the_hub_process() {
    let output = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args([
            "bench",
            "stock",
            "--skus",
            "2000",
            "--rate",
            "500",
            "--duration",
            "4s",
            "--orders",
            "5",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(0 movements not reflected)"), "{stdout}");
    assert!(
        stdout.contains("initial sync:             2000 SKUs"),
        "{stdout}"
    );
    assert!(stdout.contains("hub peak RSS:"), "{stdout}");
    assert!(stdout.contains("429s received:            0"), "{stdout}");
}
