//! rust_ext's CSV parser on arbitrary bytes: it must not panic, must honour its documented
//! capacity (`data.len() / 4 + 1` rows always suffice) and must account for every row it read.
#![no_main]

use hotpath_rust_fuzz::csv::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let capacity = data.len() / 4 + 1;
    let (mut ids, mut stamps, mut values) =
        (vec![0u32; capacity], vec![0i64; capacity], vec![0f64; capacity]);
    let outcome = parse(data, &mut ids, &mut stamps, &mut values)
        .expect("data.len() / 4 + 1 rows must always suffice");
    assert!(outcome.rows <= capacity);
    if outcome.file_error.is_none() {
        assert_eq!(outcome.rows + outcome.rejects.len(), outcome.rows_read, "rows unaccounted");
    }
    for reject in &outcome.rejects {
        assert!(reject.start <= reject.end && reject.end <= data.len(), "reject span outside data");
    }
    for &value in &values[..outcome.rows] {
        assert!(!value.is_infinite(), "a kept reading is infinite"); // NaN: a missing one
    }
    // Too little room is refused, never written past.
    if outcome.rows > 0 {
        let short = outcome.rows - 1;
        let (mut a, mut b, mut c) = (vec![0u32; short], vec![0i64; short], vec![0f64; short]);
        assert!(parse(data, &mut a, &mut b, &mut c).is_err(), "rows did not fit, yet Ok");
    }
});
