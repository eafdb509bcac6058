-- event db=app
BEGIN
-- event db=app
COMMIT
-- event db=app
CREATE USER 'u'@'%' IDENTIFIED BY 'secret'
-- event db=app
ALTER USER 'u'@'%' IDENTIFIED WITH caching_sha2_password BY 'x'
-- event db=app
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'u'@'%'
-- event db=app
REVOKE ALL PRIVILEGES ON *.* FROM 'u'@'%'
-- event db=app
DROP USER 'u'@'%'
-- event db=app
FLUSH PRIVILEGES
-- event db=app
SET NAMES utf8mb4
-- event db=app
SAVEPOINT s1
-- event db=app
XA COMMIT 'x'
-- event db=app
CREATE DEFINER=`root`@`localhost` PROCEDURE `p`(IN a INT) BEGIN DECLARE b INT; SELECT a; END
-- event db=app
CREATE DEFINER=`root`@`localhost` FUNCTION f() RETURNS int DETERMINISTIC RETURN 1
-- event db=app
CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END
-- event db=app
CREATE DEFINER=`root`@`localhost` EVENT ev ON SCHEDULE EVERY 1 DAY DO DELETE FROM t
-- event db=app
CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`
-- event db=app
DROP VIEW IF EXISTS v
-- event db=app
DROP PROCEDURE IF EXISTS p
-- event db=app
CREATE INDEX i ON t (a)
-- event db=app
DROP INDEX i ON t
-- event db=app
CREATE TEMPORARY TABLE tmp (a INT)
-- event db=app
DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `tmp`
-- event db=app
ANALYZE TABLE t
-- event db=app
OPTIMIZE TABLE t
-- event db=app
INSERT INTO mysql.heartbeat VALUES (1)
-- event db=app
# a comment only
