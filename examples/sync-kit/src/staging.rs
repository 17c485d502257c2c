//! The items of one run between reading and delivering, one per destination key: where
//! [`DuplicateKeys`] picks the record that is delivered when several map to one key.
//!
//! A run reads its whole source into the staging area first, so the winner of a key is known
//! before anything is sent and the key is written once. The area is a private temporary SQLite
//! database on disk (deleted when the run ends): memory stays flat however large the source.

use jiff::civil::DateTime;
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::Item;
use crate::config::DuplicateKeys;
use crate::state::StateError;

/// One run's staged items.
pub(crate) struct Staging {
    conn: Connection,
    policy: DuplicateKeys,
    seq: i64,
}

/// A record that lost its key to another one: its id, the key, and the other record's id.
pub(crate) struct Loser {
    pub id: String,
    pub key: String,
    pub winner: String,
}

impl Staging {
    /// An empty staging area deciding duplicates per `policy`.
    pub fn new(policy: DuplicateKeys) -> Result<Self, StateError> {
        // An empty file name is a private temporary database on disk.
        let conn = Connection::open("")?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE;
             CREATE TABLE items (
                 key TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL,
                 id TEXT NOT NULL,
                 ts TEXT,
                 payload TEXT NOT NULL,
                 conflicted INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX items_by_seq ON items (seq);
             CREATE TABLE losers (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, key TEXT NOT NULL);
             BEGIN;",
        )?;
        Ok(Self {
            conn,
            policy,
            seq: 0,
        })
    }

    /// Stages `item` of source record `id`, changed at `ts`: it becomes its key's item, or
    /// loses to the one already there, per the policy.
    pub fn offer(&mut self, id: &str, ts: Option<DateTime>, item: Item) -> Result<(), StateError> {
        self.seq += 1;
        let seq = self.seq;
        let ts = ts.map(|t| t.to_string());
        let payload = Value::Object(item.fields).to_string();
        // A key seen for the first time (the common case) takes one statement.
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO items (key, seq, id, ts, payload) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key) DO NOTHING",
            )?
            .execute(params![item.key, seq, id, ts, payload])?;
        if inserted == 1 {
            return Ok(());
        }
        let (old_seq, old_id, old_ts): (i64, String, Option<String>) = self
            .conn
            .prepare_cached("SELECT seq, id, ts FROM items WHERE key = ?1")?
            .query_row([&item.key], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
        let lose = |seq: i64, id: &str| {
            self.conn
                .prepare_cached("INSERT INTO losers (seq, id, key) VALUES (?1, ?2, ?3)")?
                .execute(params![seq, id, item.key])
        };
        match self.policy {
            DuplicateKeys::First => {
                lose(seq, id)?;
            }
            DuplicateKeys::Fail => {
                lose(seq, id)?;
                self.conn
                    .prepare_cached("UPDATE items SET conflicted = 1 WHERE key = ?1")?
                    .execute([&item.key])?;
            }
            DuplicateKeys::Newest => {
                if is_newer(ts.as_deref(), old_ts.as_deref()) {
                    lose(old_seq, &old_id)?;
                    self.conn
                        .prepare_cached(
                            "UPDATE items SET seq = ?2, id = ?3, ts = ?4, payload = ?5
                             WHERE key = ?1",
                        )?
                        .execute(params![item.key, seq, id, ts, payload])?;
                } else {
                    lose(seq, id)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the reading: the records that lost their key, in the order they were read (with
    /// `fail`, every record of a shared key), and how many keys were shared.
    pub fn losers(&mut self) -> Result<(Vec<Loser>, u64), StateError> {
        self.conn.execute_batch("COMMIT; BEGIN;")?;
        let mut out = Vec::new();
        // With `fail`, the record holding the key loses too (to the first one that shared it).
        let mut stmt = self.conn.prepare(
            "SELECT id, key, winner FROM (
                 SELECT i.seq AS seq, i.id AS id, i.key AS key,
                     (SELECT l.id FROM losers l WHERE l.key = i.key ORDER BY l.seq LIMIT 1)
                         AS winner
                 FROM items i WHERE i.conflicted = 1
                 UNION ALL
                 SELECT l.seq, l.id, l.key, i.id FROM losers l JOIN items i ON i.key = l.key
             ) ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(Loser {
                id: row.get(0)?,
                key: row.get(1)?,
                winner: row.get(2)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
        let shared: i64 =
            self.conn
                .query_row("SELECT COUNT(DISTINCT key) FROM losers", [], |row| {
                    row.get(0)
                })?;
        Ok((out, shared as u64))
    }

    /// Up to `n` items to deliver, in the order their records were read, after position
    /// `after` (which moves past them). Keys in conflict (`fail`) are never returned.
    pub fn next(&self, after: &mut i64, n: usize) -> Result<Vec<Item>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, key, payload FROM items WHERE seq > ?1 AND conflicted = 0
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![*after, n as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        let mut items = Vec::with_capacity(n);
        for row in rows {
            let (seq, key, payload) = row?;
            *after = seq;
            let fields = match serde_json::from_str(&payload) {
                Ok(Value::Object(fields)) => fields,
                _ => serde_json::Map::new(),
            };
            items.push(Item { key, fields });
        }
        Ok(items)
    }
}

/// Whether a record changed at `new` beats one changed at `old`: a later time wins, a time
/// beats none, and between equal (or no) times the one read later wins.
fn is_newer(new: Option<&str>, old: Option<&str>) -> bool {
    let parse = |t: Option<&str>| t.and_then(|t| t.parse::<DateTime>().ok());
    match (parse(new), parse(old)) {
        (Some(new), Some(old)) => new >= old,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, name: &str) -> Item {
        let mut fields = serde_json::Map::new();
        fields.insert("name".into(), name.into());
        Item {
            key: key.into(),
            fields,
        }
    }

    fn staged(policy: DuplicateKeys) -> (Vec<(String, String)>, Vec<String>, u64) {
        let mut s = Staging::new(policy).unwrap();
        let at = |t: &str| Some(t.parse::<DateTime>().unwrap());
        s.offer("A", at("2024-01-02T00:00"), item("k", "a"))
            .unwrap();
        s.offer("X", None, item("x", "x")).unwrap();
        s.offer("B", at("2024-01-03T00:00"), item("k", "b"))
            .unwrap();
        s.offer("C", at("2024-01-01T00:00"), item("k", "c"))
            .unwrap();
        let (losers, shared) = s.losers().unwrap();
        let mut after = 0;
        let mut items = Vec::new();
        loop {
            let batch = s.next(&mut after, 1).unwrap();
            if batch.is_empty() {
                break;
            }
            items.extend(batch.into_iter().map(|i| {
                let name = i.fields["name"].as_str().unwrap().to_owned();
                (i.key, name)
            }));
        }
        let losers = losers
            .into_iter()
            .map(|l| format!("{} shares key {} with {}", l.id, l.key, l.winner))
            .collect();
        (items, losers, shared)
    }

    #[test]
    fn newest_first_and_fail_pick_one_winner_per_key() {
        let (items, losers, shared) = staged(DuplicateKeys::Newest);
        assert_eq!(items, [("x".into(), "x".into()), ("k".into(), "b".into())]);
        assert_eq!(losers, ["A shares key k with B", "C shares key k with B"]);
        assert_eq!(shared, 1);

        let (items, losers, _) = staged(DuplicateKeys::First);
        assert_eq!(items, [("k".into(), "a".into()), ("x".into(), "x".into())]);
        assert_eq!(losers, ["B shares key k with A", "C shares key k with A"]);

        let (items, losers, shared) = staged(DuplicateKeys::Fail);
        assert_eq!(items, [("x".into(), "x".into())]);
        assert_eq!(
            losers,
            [
                "A shares key k with B",
                "B shares key k with A",
                "C shares key k with A"
            ]
        );
        assert_eq!(shared, 1);
    }

    #[test]
    fn ties_and_missing_times_go_to_the_record_read_last() {
        assert!(is_newer(Some("2024-01-01T00:00"), Some("2024-01-01T00:00")));
        assert!(is_newer(None, None));
        assert!(is_newer(Some("2024-01-01T00:00"), None));
        assert!(!is_newer(None, Some("2024-01-01T00:00")));
        assert!(!is_newer(
            Some("2023-01-01T00:00"),
            Some("2024-01-01T00:00")
        ));
    }
}
