-- event db=app
CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10))
-- event db=app
CREATE TABLE bad (a INT NOT NULL DEFAULT
-- event db=app
ALTER TABLE unknown ADD COLUMN x INT
-- event db=app
ALTER TABLE t ADD COLUMN b INT
-- event db=app
ALTER TABLE t ADD COLUMN z INT AFTER nope
-- event db=app
ALTER TABLE t ADD COLUMN ok INT, DROP COLUMN nope
-- event db=app
ALTER TABLE t FROBNICATE
-- event db=app
CREATE TABLE ctas AS SELECT * FROM t
-- event db=app
CREATE TABLE ctas2 (x INT) SELECT 1 AS x
-- event
CREATE TABLE nodb (a INT)
-- event db=app
RENAME TABLE nope TO nope2
-- event db=app
FROBNICATE EVERYTHING
-- event db=app
CREATE TABLE t2 (a INT, PRIMARY KEY (zz))
-- event db=app
CREATE TABLE `unterminated (a INT)
