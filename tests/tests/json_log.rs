//! `log_format = "json"` (prod's default): one JSON object per line, and each request's line
//! with its method, path, route name, client address, request id, status and latency.

mod common;

use std::time::{Duration, Instant};

#[tokio::test]
async fn json_request_lines_say_which_request_route_client_status_and_latency() {
    let (_app, base, log) =
        common::start_starter_keeping(&[("TORN_LOG_FORMAT", "json".to_string())], true);
    let r = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let started = Instant::now();
    let line = loop {
        let lines = log.lock().unwrap().clone();
        let found = lines.iter().find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["target"] == "torn::request" && v["span"]["request_id"] == id.as_str()).then_some(v)
        });
        if let Some(v) = found {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no JSON request line for {id}:\n{}",
            lines.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["latency_ms"].is_f64(), "{line}");
    let span = &line["span"];
    assert_eq!(
        (
            &span["method"],
            &span["path"],
            &span["route"],
            &span["client"]
        ),
        (
            &serde_json::json!("GET"),
            &serde_json::json!("/"),
            &serde_json::json!("home"),
            &serde_json::json!("127.0.0.1")
        ),
        "{line}"
    );
    assert!(line["timestamp"].is_string(), "{line}");
    // Every line of the log is JSON, the start-up lines too.
    for l in log.lock().unwrap().iter() {
        assert!(
            serde_json::from_str::<serde_json::Value>(l).is_ok(),
            "not JSON: {l}"
        );
    }
}
