//! The Kafka telemetry sink against a real Kafka-protocol broker: `tansu` (memory storage) on
//! loopback, installed by `scripts/install-tansu.sh` (or given as `$VODPACK_TANSU`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use serde_json::{json, Value};
use vodpack_control::api::unix_now;
use vodpack_control::kafka::{partition_for, KafkaConfig, KafkaSink};
use vodpack_control::serve::{start, ServeConfig, ServeKeys};

fn tansu_binary() -> PathBuf {
    let path = std::env::var_os("VODPACK_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/tansu/tansu"));
    assert!(
        path.is_file(),
        "the Kafka-compatible broker `tansu` is missing at {}: run scripts/install-tansu.sh \
         (or set VODPACK_TANSU to its path)",
        path.display()
    );
    path
}

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_broker() -> (Broker, String) {
    let bin = tansu_binary();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let broker = Broker(child);
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return (broker, addr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tansu did not listen on {addr} within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_kafka_keyed_by_session_and_rejects_reach_the_dead_letter_topic() {
    let (_broker, addr) = start_broker().await;
    let mut kafka = KafkaConfig::new(vec![addr.clone()]);
    kafka.topic = "events-test".into();
    kafka.dead_letter_topic = "events-test.dlq".into();
    kafka.partitions = 2;
    let sink = Arc::new(KafkaSink::connect(&kafka).await.unwrap());

    let mut config =
        ServeConfig::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cenc-shaka"));
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.sink = Some(sink);
    let server = start(config).await.unwrap();
    let http = crate::common::http_client().build().unwrap();

    // Two sessions, so both partitions are likely used; each keeps its own order.
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let pb: Value = http
            .post(format!("{}/v1/playback/start", server.url()))
            .header(
                "authorization",
                format!("Bearer {}", server.control.identity.issue("alice", &[], unix_now(), 600)),
            )
            .body(json!({"asset_id": "fixture_cenc", "device": {"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc"]}}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        sessions.push(pb);
    }
    let now_ms = (unix_now() * 1000) as i64;
    let mut events = Vec::new();
    for (s, pb) in sessions.iter().enumerate() {
        for (seq, kind) in ["start", "play", "pause", "end"].iter().enumerate() {
            events.push(json!({
                "session_token": pb["telemetry"]["session_token"], "event_id": format!("s{s}e{seq}"),
                "seq": seq, "type": kind, "ts": now_ms, "position": seq as f64,
            }));
        }
    }
    let res = http
        .post(format!("{}/v1/playback/events", server.url()))
        .body(json!({"events": events}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    // A forged token: refused and never stored. An authenticated but invalid batch: refused and
    // dead-lettered without its token.
    let forged = json!({"events": [{"session_token": "forged", "event_id": "x", "seq": 0, "type": "play", "ts": now_ms, "position": 0}]}).to_string();
    let session_token = sessions[0]["telemetry"]["session_token"].as_str().unwrap();
    let bad = json!({"events": [{"session_token": session_token, "event_id": "y", "seq": 0, "type": "teleport", "ts": now_ms, "position": 0}]}).to_string();
    for body in [&forged, &bad] {
        let res = http
            .post(format!("{}/v1/playback/events", server.url()))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }

    // Read back with an independent client.
    let client = ClientBuilder::new(vec![addr]).build().await.unwrap();
    let mut seen = 0;
    for p in 0..2 {
        let pc = client
            .partition_client("events-test", p, UnknownTopicHandling::Error)
            .await
            .unwrap();
        let end = pc.get_offset(OffsetAt::Latest).await.unwrap();
        if end == 0 {
            continue;
        }
        let (records, _) = pc.fetch_records(0, 1..10_000_000, 1_000).await.unwrap();
        let mut last_seq: std::collections::HashMap<String, i64> = Default::default();
        for r in records {
            let key = String::from_utf8(r.record.key.unwrap()).unwrap();
            assert_eq!(
                partition_for(key.as_bytes(), 2),
                p as usize,
                "key {key} in partition {p}"
            );
            assert_eq!(r.record.headers["schema_version"], b"1");
            let v: Value = serde_json::from_slice(&r.record.value.unwrap()).unwrap();
            assert_eq!(v["schema_version"], 1);
            assert_eq!(v["session_id"], key.as_str());
            assert_eq!(v["asset_id"], "fixture_cenc");
            let seq = v["event"]["seq"].as_i64().unwrap();
            assert!(
                seq > *last_seq.get(&key).unwrap_or(&-1),
                "order kept within a session"
            );
            last_seq.insert(key, seq);
            seen += 1;
        }
    }
    assert_eq!(seen, 8);
    let keys: std::collections::HashSet<String> = sessions
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 2);

    let dlq = client
        .partition_client("events-test.dlq", 0, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = dlq.fetch_records(0, 1..10_000_000, 1_000).await.unwrap();
    assert_eq!(
        records.len(),
        1,
        "only the authenticated refusal is dead-lettered"
    );
    let value = records[0].record.value.clone().unwrap();
    let text = String::from_utf8(value).unwrap();
    assert!(
        !text.contains(session_token) && !text.contains("vps1."),
        "{text}"
    );
    let record: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["reason"], "invalid_event");
    assert_eq!(record["session_id"], sessions[0]["session_id"]);
    assert!(record["body"].as_str().unwrap().contains("teleport"));
    assert_eq!(records[0].record.headers["reason"], b"invalid_event");

    server.shutdown().await.unwrap();
}
