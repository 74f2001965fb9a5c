//! Kafka sink (in progress).
