use super::*;

fn message(r: Option<Received>) -> (u64, String) {
    match r {
        Some(Received::Message(m)) => (m.id, m.data.to_string()),
        other => panic!("a message, not {other:?}"),
    }
}

#[tokio::test]
async fn subscribers_get_their_topics_messages_in_order() {
    let pubsub = PubSub::default();
    // A topic's ids start at a random number, and go up by one.
    let first = pubsub.publish("room", "nobody listens").await.unwrap();
    assert!(first > 0 && first < 1 << 51, "{first}");
    let mut a = pubsub.subscribe("room");
    let mut b = pubsub.subscribe("room");
    let mut other = pubsub.subscribe("other");
    pubsub.publish("room", "hello").await.unwrap();
    pubsub.publish("room", "again").await.unwrap();
    for s in [&mut a, &mut b] {
        assert_eq!(message(s.recv().await), (first + 1, "hello".into()));
        assert_eq!(message(s.recv().await), (first + 2, "again".into()));
    }
    let elsewhere = pubsub.publish("other", "elsewhere").await.unwrap();
    assert_ne!(elsewhere, first, "each topic starts somewhere of its own");
    assert_eq!(message(other.recv().await), (elsewhere, "elsewhere".into()));
    assert_eq!(pubsub.last_id("room"), first + 2);
}

#[tokio::test]
async fn a_slow_subscriber_lags_and_the_others_do_not_wait() {
    let pubsub = PubSub::new(4, 0);
    let mut slow = pubsub.subscribe("room");
    let mut quick = pubsub.subscribe("room");
    let mut ids = Vec::new();
    for n in 1..=10 {
        ids.push(pubsub.publish("room", n.to_string()).await.unwrap());
        // The quick one keeps up.
        assert_eq!(message(quick.recv().await).0, ids[n - 1]);
    }
    // The slow one missed six of ten, is told so, and goes on from the oldest kept.
    assert_eq!(slow.recv().await, Some(Received::Lagged(6)));
    assert_eq!(message(slow.recv().await).0, ids[6]);
}

#[tokio::test]
async fn a_subscriber_can_start_after_a_message_it_saw() {
    let pubsub = PubSub::new(16, 3);
    let mut ids = vec![0];
    for n in 1..=5 {
        ids.push(pubsub.publish("room", n.to_string()).await.unwrap());
    }
    // The buffer keeps 3, 4 and 5: after 3, it replays 4 and 5, then goes live.
    let mut s = pubsub.subscribe_after("room", ids[3]);
    ids.push(pubsub.publish("room", "6").await.unwrap());
    let got: Vec<u64> = [s.recv().await, s.recv().await, s.recv().await]
        .into_iter()
        .map(|r| message(r).0)
        .collect();
    assert_eq!(got, ids[4..=6]);
    // After 1, two messages are gone: it lagged, then gets what the buffer has.
    let mut s = pubsub.subscribe_after("room", ids[1]);
    assert_eq!(s.recv().await, Some(Received::Lagged(2)));
    assert_eq!(message(s.recv().await).0, ids[4]);
    // Up to date: nothing replayed.
    let mut s = pubsub.subscribe_after("room", ids[6]);
    let seventh = pubsub.publish("room", "7").await.unwrap();
    assert_eq!(message(s.recv().await).0, seventh);
    // A cursor from before this sequence began (a restart, a counter that started again),
    // even one that looks recent: lagged, with the number missed unknown, then what is kept.
    let mut s = pubsub.subscribe_after("room", ids[1] - 2);
    assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    assert_eq!(message(s.recv().await).0, ids[5]);
}

#[tokio::test]
async fn topics_without_subscribers_or_messages_are_forgotten() {
    let pubsub = PubSub::default();
    // Looking does not make a topic.
    for n in 0..1000 {
        assert_eq!(pubsub.last_id(&format!("room {n}")), 0);
    }
    assert_eq!(pubsub.topics(), 0);
    // A subscription makes one, and dropping the last one forgets it.
    let a = pubsub.subscribe("room");
    let b = pubsub.subscribe_after("room", 0);
    assert_eq!(pubsub.topics(), 1);
    drop(a);
    assert_eq!(pubsub.topics(), 1);
    drop(b);
    assert_eq!(pubsub.topics(), 0);
    // A long poll that times out leaves nothing behind.
    let got = pubsub
        .wait_after("poll", 0, Duration::from_millis(10))
        .await;
    assert!(got.is_empty());
    assert_eq!(pubsub.topics(), 0);
    // A topic with messages to replay stays, for a while.
    let id = pubsub.publish("kept", "x").await.unwrap();
    drop(pubsub.subscribe("kept"));
    assert_eq!(pubsub.topics(), 1);
    // An id this process never gave: lagged, with nothing known missed.
    let mut s = pubsub.subscribe_after("kept", id + 99);
    assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    drop(s);
    // Idle for longer than IDLE: forgotten at the next sweep.
    {
        let mut topics = pubsub.lock();
        let long_ago = Instant::now().checked_sub(IDLE + SWEEP).unwrap();
        topics.swept = long_ago;
        topics.map.get_mut("kept").unwrap().touched = long_ago;
    }
    assert_eq!(pubsub.topics(), 0);
}

#[tokio::test]
async fn ids_from_a_backend_that_do_not_follow_on_make_subscribers_lag() {
    let pubsub = PubSub::new(16, 10);
    // Nobody here follows the topic: what the backend brings is not kept.
    pubsub.deliver("room", Some(40), "unheard".into());
    assert_eq!(pubsub.topics(), 0);
    let mut s = pubsub.subscribe("room");
    // The first id seen is where this process starts: nothing is missed.
    pubsub.deliver("room", Some(41), "a".into());
    pubsub.deliver("room", Some(42), "b".into());
    assert_eq!(message(s.recv().await), (41, "a".into()));
    assert_eq!(message(s.recv().await), (42, "b".into()));
    // A client that saw 40 (on another instance) missed nothing.
    let mut caught_up = pubsub.subscribe_after("room", 40);
    assert_eq!(message(caught_up.recv().await).0, 41);
    // Two never came: lagged by two, then the message.
    pubsub.deliver("room", Some(45), "e".into());
    assert_eq!(s.recv().await, Some(Received::Lagged(2)));
    assert_eq!(message(s.recv().await), (45, "e".into()));
    // The replay buffer starts again after a gap: a client after 42 is told it lagged.
    let mut late = pubsub.subscribe_after("room", 42);
    assert_eq!(late.recv().await, Some(Received::Lagged(0)));
    assert_eq!(message(late.recv().await).0, 45);
    // A counter that started again (Redis forgot it): lagged, and ids go on from there.
    pubsub.deliver("room", Some(1), "again".into());
    assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    assert_eq!(message(s.recv().await), (1, "again".into()));
    assert_eq!(pubsub.last_id("room"), 1);
    // An id at the very end (a forged notification) overflows nothing.
    pubsub.deliver("room", Some(u64::MAX), "last".into());
    pubsub.deliver("room", Some(u64::MAX), "again".into());
    assert_eq!(s.recv().await, Some(Received::Lagged(u64::MAX - 2)));
    assert_eq!(message(s.recv().await).0, u64::MAX);
    assert_eq!(message(s.recv().await), (u64::MAX, "again".into()));
    // A dropped connection: everyone lags, once.
    pubsub.lag_everyone();
    assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    pubsub.deliver("room", Some(2), "b".into());
    assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    assert_eq!(message(s.recv().await), (2, "b".into()));
}

#[tokio::test]
async fn closing_ends_long_polls_at_once() {
    let pubsub = PubSub::default();
    let waiting = tokio::spawn({
        let pubsub = pubsub.clone();
        async move { pubsub.wait_after("room", 0, Duration::from_mins(1)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    pubsub.close();
    let got = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the long poll returned when the server closed")
        .unwrap();
    assert!(got.is_empty());
}

#[cfg(any(feature = "postgres", feature = "redis"))]
#[test]
fn backend_payloads_round_trip_any_topic_and_data() {
    for (topic, data) in [
        ("room", "hello"),
        ("", ""),
        ("a:b:c", "1:2:3"),
        ("été", "ünï\ncode:"),
    ] {
        let wire = format!("17:{}", encode(topic, data));
        assert_eq!(decode(&wire), Some((topic, 17, data)));
    }
    for bad in ["", "x", "1:", "1:5:abc", "a:1:xy", "1:x:y", "1:1:é"] {
        assert_eq!(decode(bad), None, "{bad:?}");
    }
}
