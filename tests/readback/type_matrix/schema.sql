-- Type matrix: one column per PostgreSQL type Debezium 3.6's PostgreSQL connector maps.
-- Used by tests/e2e/differential.rs (real Debezium vs cdc-capture) and to regenerate the
-- golden fixtures (tests/readback/debezium_oracle.py). Runs in one database, as a superuser.
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN short_text AS varchar(10);
CREATE DOMAIN price AS numeric(8, 3);

CREATE TABLE type_matrix (
    id integer PRIMARY KEY,
    c_int2 smallint,
    c_int4 integer,
    c_int8 bigint,
    c_serial serial,
    c_bool boolean,
    c_num numeric,
    c_num_10_2 numeric(10, 2),
    c_num_5 numeric(5),
    c_real real,
    c_double double precision,
    c_money money,
    c_char char(5),
    c_varchar varchar(20),
    c_text text,
    c_bytea bytea,
    c_date date,
    c_time time,
    c_time3 time(3),
    c_timetz timetz,
    c_ts timestamp,
    c_ts3 timestamp(3),
    c_tstz timestamptz,
    c_tstz0 timestamptz(0),
    c_tstz3 timestamptz(3),
    c_interval interval,
    c_json json,
    c_jsonb jsonb,
    c_xml xml,
    c_uuid uuid,
    c_inet inet,
    c_cidr cidr,
    c_macaddr macaddr,
    c_macaddr8 macaddr8,
    c_bit1 bit(1),
    c_bit10 bit(10),
    c_varbit16 varbit(16),
    c_varbit varbit,
    c_enum mood,
    c_dom_int posint,
    c_dom_text short_text,
    c_dom_num price,
    c_int_arr integer[],
    c_text_arr text[],
    c_num_arr numeric[],
    c_date_arr date[],
    c_uuid_arr uuid[],
    c_int4range int4range,
    c_int8range int8range,
    c_numrange numrange,
    c_tsrange tsrange,
    c_tstzrange tstzrange,
    c_daterange daterange,
    c_hstore hstore,
    c_ltree ltree,
    c_tsvector tsvector,
    c_oid oid,
    c_point point,
    c_geom geometry,
    c_geog geography(Point, 4326),
    c_req_text text NOT NULL DEFAULT 'dflt',
    c_req_int integer NOT NULL DEFAULT 42,
    c_req_ts timestamptz NOT NULL DEFAULT now(),
    c_toast_text text,
    c_toast_bytea bytea,
    c_citext citext,
    c_enum_arr mood[],
    c_bool_arr boolean[],
    c_float_arr double precision[],
    c_varchar_arr varchar(5)[],
    c_bytea_arr bytea[],
    c_jsonb_arr jsonb[],
    c_inet_arr inet[],
    c_ts_arr timestamp[],
    c_tstz_arr timestamptz[],
    c_time_arr time[],
    c_hstore_arr hstore[],
    c_ltree_arr ltree[],
    c_int8range_arr int8range[],
    -- Nullable columns with defaults: JsonConverter writes the schema default for null.
    c_opt_text text DEFAULT 'opt',
    c_opt_ts timestamptz(3) DEFAULT now(),
    -- TOASTed values of other types, left unchanged by an UPDATE.
    c_toast_geom geometry,
    c_toast_jsonb jsonb,
    c_toast_int_arr integer[],
    -- Not mapped by Debezium 3.6: left out of events.
    c_interval_arr interval[],
    c_box box
);

CREATE TABLE type_matrix_full (LIKE type_matrix INCLUDING ALL);
ALTER TABLE type_matrix_full REPLICA IDENTITY FULL;

CREATE TABLE oracle_sentinel (id integer PRIMARY KEY, label text);
