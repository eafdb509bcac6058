-- event
CREATE DATABASE db1 DEFAULT CHARSET=latin1
-- event db=db1
CREATE TABLE t1 (
 id int(11) not null auto_increment,
 c1 varchar(255) default null,
 c2 varchar(255) not null,
 c3 varchar(255) charset latin2 not null,
 c4 text collate utf8mb4_unicode_ci,
 c5 int,
 primary key (`id`)
) engine=InnoDB auto_increment=1006 default charset=utf8mb4
-- event db=db1
CREATE TABLE t2 (id int(11) not null auto_increment, c1 varchar(255) default null, primary key (`id`)) engine=InnoDB
-- event db=db1
CREATE TABLE t3 (c1 char(1)) COLLATE=utf8mb4_bin
-- event db=db1
ALTER TABLE t2 DEFAULT CHARACTER SET = greek, ADD COLUMN c2 VARCHAR(5)
-- event db=db1
ALTER TABLE t2 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci
-- event db=db1
ALTER TABLE t1 CONVERT TO CHARSET DEFAULT
-- event
ALTER DATABASE db1 CHARACTER SET = utf8
-- event db=db1
CREATE TABLE t4 (c1 NATIONAL CHAR(3), c2 NVARCHAR(10), c3 CHAR(60) BINARY, c4 VARCHAR(3) CHARACTER SET 'utf8mb4', c5 ENUM('x','y') CHARACTER SET latin1)
-- event db=db1
ALTER SCHEMA DEFAULT COLLATE utf8mb4_general_ci
-- event db=db1
CREATE TABLE t5 (c VARCHAR(3))
