//! Devices: the account page lists where the account is logged in (browser and system,
//! address, when it logged in and was last used), and logs out any one of them, of this
//! account only.

mod support;

use support::{Browser, PASSWORD, links, server};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
                      AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 \
                      Safari/604.1";

/// The handle of the listed session whose line says `says`.
fn handle_of(page: &str, says: &str) -> String {
    let line = page
        .split("<li>")
        .find(|item| item.contains(says))
        .unwrap_or_else(|| panic!("no session says {says}: {page}"));
    let at = line
        .find("name=\"session\" value=\"")
        .expect("a log-out button")
        + 22;
    line[at..at + line[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn the_account_page_lists_and_ends_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let laptop = Browser::with_agent(&server, FIREFOX);
    laptop.sign_up("ada@example.com", PASSWORD).await;
    assert_eq!(laptop.log_in("ada@example.com", PASSWORD).await.status, 303);
    let verify = links(dir.path(), "/auth/verify", 1).await.remove(0);
    assert_eq!(laptop.get(&verify).await.status, 303);
    let phone = Browser::with_agent(&server, IPHONE);
    assert_eq!(phone.log_in("ada@example.com", PASSWORD).await.status, 303);

    let page = laptop.get("/account").await.text;
    let list = &page[page.find("id=\"devices\"").expect("the list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert_eq!(list.matches("<li>").count(), 2, "{list}");
    assert!(
        list.contains("Firefox on Linux</strong> · 127.0.0.1"),
        "{list}"
    );
    assert!(
        list.contains("Safari on iPhone</strong> · 127.0.0.1"),
        "{list}"
    );
    assert!(list.contains("last used just now"), "{list}");
    assert_eq!(list.matches("this browser").count(), 1);
    // This browser's line has no log-out button of its own (the header's logs it out).
    assert!(
        list.split("<li>")
            .find(|i| i.contains("this browser"))
            .is_some_and(|i| !i.contains("name=\"session\"")),
        "{list}"
    );
    assert!(
        !list.contains("Mozilla/5.0"),
        "the whole header is not kept"
    );

    // Someone else's account cannot end Ada's sessions, whatever handle it sends.
    let phone_handle = handle_of(&page, "Safari on iPhone");
    let eve = Browser::new(&server);
    eve.sign_up("eve@example.com", PASSWORD).await;
    assert_eq!(eve.log_in("eve@example.com", PASSWORD).await.status, 303);
    let verify = links(dir.path(), "/auth/verify", 2)
        .await
        .into_iter()
        .find(|l| l != &verify)
        .unwrap();
    assert_eq!(eve.get(&verify).await.status, 303);
    for handle in [phone_handle.as_str(), "", "not a handle", &"f".repeat(4000)] {
        let r = eve
            .submit("/account", "/account/sessions", &[("session", handle)])
            .await;
        assert_eq!(r.status, 303, "{handle:.40}");
    }
    assert!(phone.logged_in().await, "Eve ended nothing of Ada's");
    assert!(eve.logged_in().await);

    // Ada logs the phone out from the laptop.
    let r = laptop
        .submit(
            "/account",
            "/account/sessions",
            &[("session", &phone_handle)],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = laptop.get("/account").await.text;
    assert!(page.contains("That session is logged out."), "{page}");
    assert!(!page.contains("Safari on iPhone"), "{page}");
    assert!(!phone.logged_in().await, "the phone is logged out");
    assert!(laptop.logged_in().await);
    // Its handle ends nothing twice.
    let r = laptop
        .submit(
            "/account",
            "/account/sessions",
            &[("session", &phone_handle)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        laptop
            .get("/account")
            .await
            .text
            .contains("That session had already ended.")
    );
}

#[tokio::test]
async fn a_session_that_timed_out_is_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| {
        s.sessions.idle_timeout = std::time::Duration::from_secs(3);
    })
    .await;
    let laptop = Browser::with_agent(&server, FIREFOX);
    laptop.sign_up("ada@example.com", PASSWORD).await;
    assert_eq!(laptop.log_in("ada@example.com", PASSWORD).await.status, 303);
    let verify = links(dir.path(), "/auth/verify", 1).await.remove(0);
    assert_eq!(laptop.get(&verify).await.status, 303);
    let phone = Browser::with_agent(&server, IPHONE);
    assert_eq!(phone.log_in("ada@example.com", PASSWORD).await.status, 303);
    assert!(
        laptop
            .get("/account")
            .await
            .text
            .contains("Safari on iPhone")
    );
    // The laptop stays in use; the phone does not, and times out.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert!(laptop.logged_in().await);
    }
    let page = laptop.get("/account").await.text;
    assert!(!page.contains("Safari on iPhone"), "{page}");
    assert!(page.contains("Firefox on Linux"));
    assert!(!phone.logged_in().await);
}
