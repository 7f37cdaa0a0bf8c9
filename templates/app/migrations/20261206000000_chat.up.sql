-- The chat at /chat: its messages, newest last. Same SQL on SQLite and PostgreSQL.

CREATE TABLE chat_messages (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The name shown with the message, as it was when it was posted.
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Unix milliseconds, which order the messages.
    posted_at BIGINT NOT NULL
);
CREATE INDEX chat_messages_posted_at ON chat_messages (posted_at);
