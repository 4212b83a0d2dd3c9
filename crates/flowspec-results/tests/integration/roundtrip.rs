//! Any valid report survives a round trip: model → JUnit XML → parse → same model.

use flowspec_results::junit::{WriteSuite, write};
use flowspec_results::testing::suites;
use proptest::prelude::*;

use crate::parse_text;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn should_read_back_what_was_written(suites in suites()) {
        let write_suites: Vec<WriteSuite<'_>> = suites
            .iter()
            .map(|(name, cases)| WriteSuite { name, cases })
            .collect();
        let mut xml = Vec::new();
        write(&mut xml, &write_suites).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        let report = parse_text(&xml);
        prop_assert!(!report.partial, "{:?}\n{xml}", report.errors);
        let expected: Vec<_> = suites.iter().flat_map(|(_, cases)| cases.clone()).collect();
        prop_assert_eq!(report.cases.unwrap(), expected, "{}", xml);
        let count: usize = suites.iter().map(|(_, c)| c.len()).sum();
        prop_assert_eq!(report.totals.tests, count as u64);
    }
}
