#![no_main]
// Every input must return (Ok or Err); libFuzzer reports a panic, a hang or a crash.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pocketrank::fuzzing::request(data);
});
