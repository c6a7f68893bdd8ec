//! The simulator's configuration: account, credentials and the knobs that
//! choose between behaviours NetSuite accounts differ on.

/// How the simulated NetSuite account is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct NetSuiteConfig {
    /// Account id as in the host name (`1234567_SB1`).
    pub account_id: String,
    /// OAuth 2.0 client id: the `iss` the token endpoint expects.
    pub client_id: String,
    /// A bearer token accepted without the token endpoint (tests, demo).
    pub static_token: Option<String>,
    /// Concurrent requests allowed before 429 (NetSuite's account limit).
    pub concurrency_limit: usize,
    /// `o:errorCode` of the 429 answer. Oracle documents the 429 status but not
    /// the REST code string, so this is inferred and configurable.
    pub concurrency_error_code: String,
    /// Access-token lifetime in seconds (1 h in NetSuite).
    pub token_ttl_secs: i64,
    /// Step between line ids on a transaction. NetSuite's line ids are keys,
    /// not indexes; the default 1 gives 1, 2, 3 and lines added later
    /// continue from the highest ever used (deleted ids are not reused).
    pub line_step: u32,
    /// Whether a transform copies every open line unless the body says
    /// `itemreceive: false` (NetSuite's default, inferred from the docs'
    /// examples) or only the lines sent (as with `?replace=item`).
    pub transform_copies_unlisted_lines: bool,
    /// The line custom field holding a line discount as a positive amount.
    pub discount_line_field: String,
    /// orderStatus of a sales order created without one (account preference).
    pub default_order_status: char,
}

impl Default for NetSuiteConfig {
    fn default() -> Self {
        NetSuiteConfig {
            account_id: "1234567_SB1".to_string(),
            client_id: "seam-sandbox-client".to_string(),
            static_token: Some("netsuite-sandbox-token".to_string()),
            concurrency_limit: 5,
            concurrency_error_code: "CONCURRENCY_LIMIT_EXCEEDED".to_string(),
            token_ttl_secs: 3600,
            line_step: 1,
            transform_copies_unlisted_lines: true,
            discount_line_field: "custcol_discount_amount".to_string(),
            default_order_status: 'B',
        }
    }
}
