-- Made by `[[ command ]]`. Same SQL on SQLite and PostgreSQL.

CREATE TABLE [[ table ]] (
    id BIGINT PRIMARY KEY,
[%- for f in fields %]
    [[ f.column ]] [[ f.sql_type ]],
[%- endfor %]
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
[%- for f in fields %][% if f.reference %]
CREATE INDEX [[ table ]]_[[ f.column ]] ON [[ table ]] ([[ f.column ]]);
[%- endif %][% endfor %]
CREATE INDEX [[ table ]]_created_at ON [[ table ]] (created_at);
