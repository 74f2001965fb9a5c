//! The production telemetry sink: Kafka, through the pure-Rust `rskafka` client.
//!
//! Accepted events go to the events topic, one record per event, keyed by the playback session id
//! (so a session's events stay ordered in one partition; the partition is chosen like the Java
//! client's default partitioner, murmur2 of the key), with the header `schema_version`. Rejected
//! batches go to the dead-letter topic (only authenticated ones, as a redacted
//! [`RejectRecord`] without tokens, rate-limited by the server) with the reason in the header
//! `reason`.

use std::collections::BTreeMap;

use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::Record;

use crate::error::{Error, Result};
use crate::telemetry::events::{
    AcceptedEvent, EventSink, RejectRecord, SinkFuture, EVENT_SCHEMA_VERSION,
};

/// Kafka sink options.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// Topic of accepted events.
    pub topic: String,
    /// Topic of rejected batches.
    pub dead_letter_topic: String,
    /// Partitions of the events topic (created with this many if missing).
    pub partitions: i32,
}

impl KafkaConfig {
    /// Topics `vodpack.playback-events` and `vodpack.playback-events.dlq`, 3 partitions.
    pub fn new(brokers: Vec<String>) -> Self {
        KafkaConfig {
            brokers,
            topic: "vodpack.playback-events".into(),
            dead_letter_topic: "vodpack.playback-events.dlq".into(),
            partitions: 3,
        }
    }
}

/// The Kafka event sink.
pub struct KafkaSink {
    partitions: Vec<PartitionClient>,
    dead_letter: PartitionClient,
}

fn kafka_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("kafka {what}: {e}"))
}

impl KafkaSink {
    /// Connects, creates the topics if they do not exist, and opens a client per partition.
    pub async fn connect(config: &KafkaConfig) -> Result<Self> {
        if config.partitions < 1 {
            return Err(Error::Config("kafka: partitions must be at least 1".into()));
        }
        let client = ClientBuilder::new(config.brokers.clone())
            .client_id("vodpack-control")
            .build()
            .await
            .map_err(|e| kafka_err("connect", e))?;
        let existing: Vec<String> = client
            .list_topics()
            .await
            .map_err(|e| kafka_err("list topics", e))?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let controller = client
            .controller_client()
            .map_err(|e| kafka_err("controller", e))?;
        for (topic, partitions) in [
            (&config.topic, config.partitions),
            (&config.dead_letter_topic, 1),
        ] {
            if !existing.contains(topic) {
                controller
                    .create_topic(topic.as_str(), partitions, 1, 5_000)
                    .await
                    .map_err(|e| kafka_err(&format!("create topic {topic}"), e))?;
            }
        }
        let mut partitions = Vec::new();
        for p in 0..config.partitions {
            partitions.push(
                client
                    .partition_client(config.topic.clone(), p, UnknownTopicHandling::Retry)
                    .await
                    .map_err(|e| kafka_err("partition client", e))?,
            );
        }
        let dead_letter = client
            .partition_client(
                config.dead_letter_topic.clone(),
                0,
                UnknownTopicHandling::Retry,
            )
            .await
            .map_err(|e| kafka_err("dead-letter client", e))?;
        Ok(KafkaSink {
            partitions,
            dead_letter,
        })
    }
}

/// Kafka's default partitioner hash (murmur2, as in the Java client's `Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of `key` among `n` partitions, as the Java client's default partitioner.
pub fn partition_for(key: &[u8], n: usize) -> usize {
    ((murmur2(key) & 0x7fff_ffff) as usize) % n.max(1)
}

impl EventSink for KafkaSink {
    fn write<'a>(&'a self, events: &'a [AcceptedEvent]) -> SinkFuture<'a> {
        Box::pin(async move {
            let mut by_partition: BTreeMap<usize, Vec<Record>> = BTreeMap::new();
            for e in events {
                let value = serde_json::to_vec(e).map_err(|e| e.to_string())?;
                let p = partition_for(e.session_id.as_bytes(), self.partitions.len());
                by_partition.entry(p).or_default().push(Record {
                    key: Some(e.session_id.as_bytes().to_vec()),
                    value: Some(value),
                    headers: BTreeMap::from([(
                        "schema_version".to_string(),
                        EVENT_SCHEMA_VERSION.to_string().into_bytes(),
                    )]),
                    timestamp: rskafka::chrono::DateTime::from_timestamp_millis(e.received_at)
                        .unwrap_or_default(),
                });
            }
            for (p, records) in by_partition {
                // produce() returns once the broker has acknowledged the batch.
                self.partitions[p]
                    .produce(records, Compression::NoCompression)
                    .await
                    .map_err(|e| format!("kafka produce: {e}"))?;
            }
            Ok(())
        })
    }

    fn dead_letter<'a>(&'a self, record: &'a RejectRecord) -> SinkFuture<'a> {
        Box::pin(async move {
            let value = serde_json::to_vec(record).map_err(|e| e.to_string())?;
            let record = Record {
                key: Some(record.session_id.as_bytes().to_vec()),
                value: Some(value),
                headers: BTreeMap::from([
                    (
                        "schema_version".to_string(),
                        EVENT_SCHEMA_VERSION.to_string().into_bytes(),
                    ),
                    ("reason".to_string(), record.reason.as_bytes().to_vec()),
                ]),
                timestamp: rskafka::chrono::DateTime::from_timestamp_millis(record.received_at)
                    .unwrap_or_default(),
            };
            self.dead_letter
                .produce(vec![record], Compression::NoCompression)
                .await
                .map(|_| ())
                .map_err(|e| format!("kafka produce (dead letter): {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Values from Apache Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
