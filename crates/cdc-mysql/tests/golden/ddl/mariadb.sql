-- event
-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;
CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */;
USE `shop`;
DROP TABLE IF EXISTS `orders`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `orders` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `ref` uuid NOT NULL,
  `ip` inet6 DEFAULT NULL,
  `amount` decimal(12,2) NOT NULL DEFAULT 0.00,
  `note` text DEFAULT NULL CHECK (json_valid(`note`)),
  `total` decimal(13,2) GENERATED ALWAYS AS (`amount` * 1.2) PERSISTENT,
  `created` datetime NOT NULL DEFAULT current_timestamp(),
  `flags` bit(8) NOT NULL DEFAULT b'0',
  PRIMARY KEY (`id`),
  UNIQUE KEY `ref` (`ref`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci /*M!100100 PAGE_CHECKSUM=1 */ `TRANSACTIONAL`=0;
/*!40101 SET character_set_client = @saved_cs_client */;
-- event db=shop
CREATE OR REPLACE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(12,2)) WITH SYSTEM VERSIONING
-- event db=shop
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note TEXT AFTER id, ADD COLUMN IF NOT EXISTS amount INT, ALGORITHM=INSTANT, LOCK=NONE
-- event db=shop
ALTER TABLE orders DROP COLUMN IF EXISTS missing, DROP COLUMN IF EXISTS note, MODIFY COLUMN IF EXISTS nothing INT
-- event db=shop
ALTER ONLINE TABLE orders WAIT 10 ADD COLUMN c1 INT COMPRESSED, ADD COLUMN c2 VARCHAR(10) CHARSET latin1 INVISIBLE
-- event db=shop
ALTER TABLE IF EXISTS missing ADD COLUMN x INT
-- event db=shop
ALTER TABLE orders CHANGE COLUMN IF EXISTS c1 c1_renamed BIGINT NOT NULL, DROP SYSTEM VERSIONING
-- event db=shop
RENAME TABLE IF EXISTS orders TO orders_v2, nothing TO nothing2
-- event db=shop
DROP TABLE orders_v2 NOWAIT
-- event db=shop
CREATE TABLE s (a INT) /*M!110000 FUTURE_OPTION=1 */ /*!90000 ENGINE=Future */
-- event db=shop
CREATE SEQUENCE seq1 START WITH 1 INCREMENT BY 1
-- event db=shop
BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END
-- event db=shop
XA START 'abc'
-- event db=shop
SET STATEMENT max_statement_time=1 FOR SELECT 1
