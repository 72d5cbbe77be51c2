-- Per-user UI preferences (timezone, theme, default refresh and range, home dashboard,
-- favourites): one JSON document per user, validated by the server before it is stored.
CREATE TABLE user_preferences (
    username   TEXT   NOT NULL PRIMARY KEY COLLATE "C",
    document   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
