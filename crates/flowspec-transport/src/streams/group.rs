//! The consumer group commands a subscriber uses.

use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;

use super::RedisTransport;
use super::entries::{Entry, parse_autoclaim, parse_read};
use crate::error::TransportError;

/// Deletes consumer ARGV[2] of group ARGV[1] of stream KEYS[1] if it holds no entry; -1 if it does.
const FORGET_IF_EMPTY: &str = r"
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
";

/// Where a new consumer group starts reading (an existing group goes on where it was).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StartFrom {
    /// Every entry still in the stream.
    Start,
    /// Only entries published from now on.
    #[default]
    Now,
    /// Entries after this entry id.
    Id(String),
}

impl StartFrom {
    /// `start`, `now`, or an entry id (`1733234567890-0`, `1733234567890`).
    pub fn parse(text: &str) -> Result<StartFrom, String> {
        match text {
            "start" | "beginning" | "0" => Ok(StartFrom::Start),
            "now" | "$" => Ok(StartFrom::Now),
            id if is_entry_id(id) => Ok(StartFrom::Id(id.to_owned())),
            other => Err(format!(
                "`{other}` is not `start`, `now` or an entry id like 1733234567890-0"
            )),
        }
    }

    fn as_arg(&self) -> &str {
        match self {
            StartFrom::Start => "0",
            StartFrom::Now => "$",
            StartFrom::Id(id) => id,
        }
    }
}

fn is_entry_id(text: &str) -> bool {
    let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
    !ms.is_empty()
        && ms.bytes().all(|b| b.is_ascii_digit())
        && !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit())
}

impl RedisTransport {
    /// Creates `group` (and the stream) unless it exists; `true` when created.
    pub(crate) async fn ensure_group(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        from: &StartFrom,
    ) -> Result<bool, TransportError> {
        let created: Result<Value, _> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.config.stream)
            .arg(group)
            .arg(from.as_arg())
            .arg("MKSTREAM")
            .query_async(conn)
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(false),
            Err(e) => Err(self.error(&e, "XGROUP CREATE")),
        }
    }

    /// Up to `count` entries for `consumer`: its own pending ones after `after` when
    /// `after` is an id, new ones for `>` (waiting up to `block`).
    pub(crate) async fn read_group(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        consumer: &str,
        after: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Entry>, TransportError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count.max(1));
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(&self.config.stream).arg(after);
        let reply: Value = cmd
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XREADGROUP"))?;
        parse_read(&reply).map_err(|message| self.protocol("XREADGROUP", message))
    }

    /// Takes entries of the group idle for at least `min_idle` (their consumer died or
    /// is stuck), from `cursor`; returns the next cursor (`0-0` at the end).
    pub(crate) async fn autoclaim(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        cursor: &str,
        count: usize,
    ) -> Result<(String, Vec<Entry>), TransportError> {
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.config.stream)
            .arg(group)
            .arg(consumer)
            .arg(min_idle.as_millis() as u64)
            .arg(cursor)
            .arg("COUNT")
            .arg(count.max(1))
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XAUTOCLAIM"))?;
        parse_autoclaim(&reply).map_err(|message| self.protocol("XAUTOCLAIM", message))
    }

    /// Acknowledges entries: done for the group.
    pub(crate) async fn ack(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        ids: &[String],
    ) -> Result<(), TransportError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: u64 = redis::cmd("XACK")
            .arg(&self.config.stream)
            .arg(group)
            .arg(ids)
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XACK"))?;
        Ok(())
    }

    /// Resets the idle time of entries still running here, so no other consumer takes
    /// them while a slow hook runs.
    pub(crate) async fn keep(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), TransportError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: Value = redis::cmd("XCLAIM")
            .arg(&self.config.stream)
            .arg(group)
            .arg(consumer)
            .arg(0)
            .arg(ids)
            .arg("JUSTID")
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XCLAIM"))?;
        Ok(())
    }

    /// How many times the group delivered entry `id` (0 when it is not pending).
    pub(crate) async fn deliveries(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        id: &str,
    ) -> Result<u64, TransportError> {
        let reply: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&self.config.stream)
            .arg(group)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XPENDING"))?;
        Ok(reply.first().map_or(0, |(_, _, _, n)| *n))
    }

    /// Moves an entry to the dead-letter stream with the reason, and acknowledges it,
    /// in one transaction. The original fields are kept (the event's JSON cut at 64 KiB).
    pub(crate) async fn dead_letter(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        consumer: &str,
        entry: &Entry,
        reason: &str,
    ) -> Result<(), TransportError> {
        const KEEP: usize = 64 * 1024;
        let mut add = redis::cmd("XADD");
        add.arg(&self.config.dead_letter_stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.config.max_len)
            .arg("*")
            .arg("entry")
            .arg(&entry.id)
            .arg("stream")
            .arg(&self.config.stream)
            .arg("group")
            .arg(group)
            .arg("consumer")
            .arg(consumer)
            .arg("reason")
            .arg(reason);
        for (name, value) in entry.fields.iter().flatten().take(16) {
            if matches!(
                name.as_str(),
                "entry" | "stream" | "group" | "consumer" | "reason"
            ) {
                continue;
            }
            add.arg(name).arg(&value[..value.len().min(KEEP)]);
        }
        let mut ack = redis::cmd("XACK");
        ack.arg(&self.config.stream).arg(group).arg(&entry.id);
        let _: Value = redis::pipe()
            .atomic()
            .add_command(add)
            .ignore()
            .add_command(ack)
            .ignore()
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XADD"))?;
        Ok(())
    }

    /// Removes the group's consumers that hold nothing and were idle for `idle` (stopped
    /// subscribers: the default name has a pid, so each start adds one); returns how many.
    pub(crate) async fn forget_idle_consumers(
        &self,
        conn: &mut MultiplexedConnection,
        group: &str,
        idle: Duration,
    ) -> Result<usize, TransportError> {
        let consumers: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&self.config.stream)
            .arg(group)
            .query_async(conn)
            .await
            .map_err(|e| self.error(&e, "XINFO CONSUMERS"))?;
        let mut forgotten = 0;
        for consumer in consumers.consumers {
            if consumer.pending > 0 || (consumer.idle as u128) < idle.as_millis() {
                continue;
            }
            // Deleting a consumer drops its pending entries: the check that it holds none
            // and the deletion are one script, so an entry read meanwhile is never lost.
            let deleted: i64 = redis::Script::new(FORGET_IF_EMPTY)
                .key(&self.config.stream)
                .arg(group)
                .arg(&consumer.name)
                .invoke_async(conn)
                .await
                .map_err(|e| self.error(&e, "XGROUP DELCONSUMER"))?;
            if deleted < 0 {
                continue;
            }
            forgotten += 1;
        }
        Ok(forgotten)
    }

    fn protocol(&self, command: &'static str, message: String) -> TransportError {
        TransportError::Protocol {
            target: self.config.target(),
            command,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_start_now_and_entry_ids_and_refuse_anything_else() {
        assert_eq!(StartFrom::parse("start").unwrap(), StartFrom::Start);
        assert_eq!(StartFrom::parse("now").unwrap(), StartFrom::Now);
        assert_eq!(
            StartFrom::parse("1733234567890-3").unwrap(),
            StartFrom::Id("1733234567890-3".into())
        );
        assert!(
            StartFrom::parse("yesterday")
                .unwrap_err()
                .contains("yesterday")
        );
        assert!(StartFrom::parse("12-").is_err());
    }
}
