//! `flowspec subscribe --status`: the stream, its groups and their consumers.

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamInfoConsumersReply, StreamInfoGroupsReply};
use serde::Serialize;

use crate::config::TransportConfig;

/// The state of the stream and its consumer groups.
#[derive(Clone, Debug, Serialize)]
pub struct StreamStatus {
    /// Where, without the password.
    pub target: String,
    /// The stream.
    pub stream: String,
    /// Entries in the stream.
    pub length: u64,
    /// The newest entry's id, when the stream exists.
    pub last_id: Option<String>,
    /// The dead-letter stream.
    pub dead_letter_stream: String,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
    /// The groups (the one asked for, or all).
    pub groups: Vec<GroupStatus>,
}

/// One consumer group.
#[derive(Clone, Debug, Serialize)]
pub struct GroupStatus {
    /// Its name.
    pub name: String,
    /// Entries not yet delivered to the group (`None` when Redis cannot tell).
    pub lag: Option<u64>,
    /// Entries delivered but not acknowledged.
    pub pending: u64,
    /// The last entry delivered to the group.
    pub last_delivered_id: String,
    /// Its consumers.
    pub consumers: Vec<ConsumerStatus>,
}

/// One consumer of a group.
#[derive(Clone, Debug, Serialize)]
pub struct ConsumerStatus {
    /// Its name (`<hostname>-<pid>` by default).
    pub name: String,
    /// Entries it holds unacknowledged.
    pub pending: u64,
    /// Milliseconds since it last read or claimed.
    pub idle_ms: u64,
}

pub(super) async fn read(
    conn: &mut MultiplexedConnection,
    config: &TransportConfig,
    only: Option<&str>,
) -> Result<StreamStatus, redis::RedisError> {
    let length: u64 = redis::cmd("XLEN")
        .arg(&config.stream)
        .query_async(conn)
        .await?;
    let dead_letters: u64 = redis::cmd("XLEN")
        .arg(&config.dead_letter_stream)
        .query_async(conn)
        .await?;
    let mut status = StreamStatus {
        target: config.target(),
        stream: config.stream.clone(),
        length,
        last_id: None,
        dead_letter_stream: config.dead_letter_stream.clone(),
        dead_letters,
        groups: Vec::new(),
    };
    let exists: bool = redis::cmd("EXISTS")
        .arg(&config.stream)
        .query_async(conn)
        .await?;
    if !exists {
        return Ok(status);
    }
    let last: Vec<(String, redis::Value)> = redis::cmd("XREVRANGE")
        .arg(&config.stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    status.last_id = last.into_iter().next().map(|(id, _)| id);
    let groups: StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&config.stream)
        .query_async(conn)
        .await?;
    for group in groups.groups {
        if only.is_some_and(|name| name != group.name) {
            continue;
        }
        let consumers: StreamInfoConsumersReply = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&config.stream)
            .arg(&group.name)
            .query_async(conn)
            .await?;
        status.groups.push(GroupStatus {
            name: group.name,
            lag: group.lag.map(|n| n as u64),
            pending: group.pending as u64,
            last_delivered_id: group.last_delivered_id,
            consumers: consumers
                .consumers
                .into_iter()
                .map(|c| ConsumerStatus {
                    name: c.name,
                    pending: c.pending as u64,
                    idle_ms: c.idle as u64,
                })
                .collect(),
        });
    }
    Ok(status)
}
