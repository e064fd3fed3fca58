DROP TABLE IF EXISTS users;
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, email TEXT);
INSERT INTO users (username, email) VALUES ('ann', 'ann@example.test');
INSERT INTO users (username, email) VALUES ('bob', NULL);
