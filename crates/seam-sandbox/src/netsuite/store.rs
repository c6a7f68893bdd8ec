//! The in-memory record store: records by type and internal id, an index of
//! external ids per type, and tombstones of deleted ("archived") records.

use std::collections::{BTreeMap, HashMap};

use super::error::NsError;
use super::types::{Record, RecordKey, RecordType};

#[derive(Debug, Default)]
pub struct Store {
    records: BTreeMap<(RecordType, u64), Record>,
    by_external: HashMap<(RecordType, String), u64>,
    /// Deleted records, kept for the admin API and invariant checks.
    archived: BTreeMap<(RecordType, u64), Record>,
    next_transaction_id: u64,
    next_entity_id: u64,
    next_item_id: u64,
    document_numbers: HashMap<RecordType, u64>,
}

impl Store {
    /// Internal ids start at seed-dependent offsets so a connector cannot
    /// assume they are small or equal across runs. Transactions share one
    /// sequence, as they do in NetSuite.
    pub fn new(seed: u64) -> Store {
        Store {
            next_transaction_id: 5000 + seed % 997,
            next_entity_id: 300 + seed % 89,
            next_item_id: 40 + seed % 53,
            ..Store::default()
        }
    }

    pub fn allocate_id(&mut self, kind: RecordType) -> u64 {
        let counter = match kind {
            RecordType::Customer => &mut self.next_entity_id,
            RecordType::InventoryItem => &mut self.next_item_id,
            _ => &mut self.next_transaction_id,
        };
        let id = *counter;
        // Transactions skip numbers (other record types share the real sequence).
        *counter += if kind.is_transaction() { 3 } else { 1 };
        id
    }

    pub fn allocate_document_number(&mut self, kind: RecordType) -> String {
        let counter = self.document_numbers.entry(kind).or_insert(1000);
        *counter += 1;
        format!("{}{}", kind.tran_prefix(), counter)
    }

    pub fn resolve(&self, kind: RecordType, key: &RecordKey) -> Option<u64> {
        match key {
            RecordKey::Id(id) => self.records.contains_key(&(kind, *id)).then_some(*id),
            RecordKey::External(external) => {
                self.by_external.get(&(kind, external.clone())).copied()
            }
        }
    }

    pub fn get(&self, kind: RecordType, id: u64) -> Option<&Record> {
        self.records.get(&(kind, id))
    }

    pub fn get_mut(&mut self, kind: RecordType, id: u64) -> Option<&mut Record> {
        self.records.get_mut(&(kind, id))
    }

    pub fn find(&self, kind: RecordType, key: &RecordKey) -> Result<&Record, NsError> {
        self.resolve(kind, key)
            .and_then(|id| self.get(kind, id))
            .ok_or_else(NsError::not_found)
    }

    /// A live record or its tombstone.
    pub fn find_any(&self, kind: RecordType, key: &RecordKey) -> Option<(&Record, bool)> {
        if let Ok(record) = self.find(kind, key) {
            return Some((record, false));
        }
        match key {
            RecordKey::Id(id) => self.archived.get(&(kind, *id)).map(|record| (record, true)),
            RecordKey::External(external) => self
                .archived
                .values()
                .find(|r| r.kind == kind && r.external_id.as_deref() == Some(external))
                .map(|record| (record, true)),
        }
    }

    pub fn is_archived(&self, kind: RecordType, id: u64) -> bool {
        self.archived.contains_key(&(kind, id))
    }

    pub fn external_id_taken(&self, kind: RecordType, external_id: &str) -> bool {
        self.by_external
            .contains_key(&(kind, external_id.to_string()))
    }

    /// Refuses a second record with the same external id. NetSuite answers
    /// `DUP_RCRD` (the SuiteScript/SOAP code; its REST status is inferred as 400).
    pub fn check_unique(&self, kind: RecordType, external_id: Option<&str>) -> Result<(), NsError> {
        match external_id {
            Some(external) if self.external_id_taken(kind, external) => Err(NsError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "DUP_RCRD",
                format!(
                    "This record already exists. A {} with externalId {external} already exists.",
                    kind.path_name()
                ),
            )
            .at("externalId")),
            _ => Ok(()),
        }
    }

    pub fn insert(&mut self, record: Record) {
        if let Some(external) = &record.external_id {
            self.by_external
                .insert((record.kind, external.clone()), record.id);
        }
        self.records.insert((record.kind, record.id), record);
    }

    /// Gives a record a new external id (PATCH of `externalId`).
    pub fn set_external_id(&mut self, kind: RecordType, id: u64, external_id: String) {
        let Some(record) = self.records.get_mut(&(kind, id)) else {
            return;
        };
        if let Some(old) = record.external_id.replace(external_id.clone()) {
            self.by_external.remove(&(kind, old));
        }
        self.by_external.insert((kind, external_id), id);
    }

    /// Deletes a record: GET answers 404, its external id is free again, and
    /// the admin API still shows it as archived.
    pub fn archive(&mut self, kind: RecordType, id: u64) -> Result<(), NsError> {
        let record = self
            .records
            .remove(&(kind, id))
            .ok_or_else(NsError::not_found)?;
        if let Some(external) = &record.external_id {
            self.by_external.remove(&(kind, external.clone()));
        }
        self.archived.insert((kind, id), record);
        Ok(())
    }

    pub fn records(&self, kind: RecordType) -> impl Iterator<Item = &Record> {
        self.records
            .range((kind, 0)..=(kind, u64::MAX))
            .map(|(_, record)| record)
    }

    pub fn archived_records(&self, kind: RecordType) -> impl Iterator<Item = &Record> {
        self.archived
            .range((kind, 0)..=(kind, u64::MAX))
            .map(|(_, record)| record)
    }

    /// Records created from this one (children of a transform).
    pub fn children(&self, kind: RecordType, id: u64) -> Vec<(RecordType, u64)> {
        self.records
            .values()
            .filter(|r| r.created_from == Some((kind, id)))
            .map(|r| (r.kind, r.id))
            .collect()
    }
}
