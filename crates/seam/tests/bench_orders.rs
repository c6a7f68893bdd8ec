//! `seam bench orders` runs the real order path end to end; a small run
//! must verify every order it places (the figures themselves are reported,
//! not asserted: timing belongs to the benchmark, not the test suite).

use std::process::Command;

#[test]
fn a_small_hub_bound_run_verifies_every_order_it_places() {
    let output = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(["bench", "orders", "--orders", "200", "--rate", "200"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("200 orders placed"), "{stdout}");
    assert!(
        stdout.contains("verified in 3PL and NetSuite: 200   open exceptions: 0   unfinished: 0"),
        "{stdout}"
    );
    assert!(stdout.contains("hub CPU:"), "{stdout}");
}
