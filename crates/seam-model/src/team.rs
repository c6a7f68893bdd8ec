//! The teams that own exceptions: every failure Seam cannot resolve by
//! itself lands in exactly one of these queues.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OwnerTeam {
    Ops,
    Finance,
    #[serde(rename = "CX")]
    Cx,
    Merchandising,
    Engineering,
}

impl OwnerTeam {
    pub const ALL: [OwnerTeam; 5] = [
        OwnerTeam::Ops,
        OwnerTeam::Finance,
        OwnerTeam::Cx,
        OwnerTeam::Merchandising,
        OwnerTeam::Engineering,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OwnerTeam::Ops => "Ops",
            OwnerTeam::Finance => "Finance",
            OwnerTeam::Cx => "CX",
            OwnerTeam::Merchandising => "Merchandising",
            OwnerTeam::Engineering => "Engineering",
        }
    }
}

impl fmt::Display for OwnerTeam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a team; expected one of Ops, Finance, CX, Merchandising, Engineering")]
pub struct UnknownTeam(pub String);

impl FromStr for OwnerTeam {
    type Err = UnknownTeam;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OwnerTeam::ALL
            .into_iter()
            .find(|team| team.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTeam(s.to_string()))
    }
}
