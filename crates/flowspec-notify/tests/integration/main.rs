//! Integration tests of flowspec-notify: one module per service.
