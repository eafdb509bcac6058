-- Streaming workload over the type matrix, after the snapshot.
BEGIN;
INSERT INTO type_matrix SELECT 4, c_int2, c_int4, c_int8, 4, c_bool, c_num, c_num_10_2, c_num_5, c_real,
    c_double, c_money, c_char, c_varchar, c_text, c_bytea, c_date, c_time, c_time3, c_timetz, c_ts,
    c_ts3, c_tstz, c_tstz0, c_tstz3, c_interval, c_json, c_jsonb, c_xml, c_uuid, c_inet, c_cidr,
    c_macaddr, c_macaddr8, c_bit1, c_bit10, c_varbit16, c_varbit, c_enum, c_dom_int, c_dom_text,
    c_dom_num, c_int_arr, c_text_arr, c_num_arr, c_date_arr, c_uuid_arr, c_int4range, c_int8range,
    c_numrange, c_tsrange, c_tstzrange, c_daterange, c_hstore, c_ltree, c_tsvector, c_oid, c_point,
    c_geom, c_geog, c_req_text, c_req_int, c_req_ts, c_toast_text, c_toast_bytea, c_citext,
    c_enum_arr, c_bool_arr, c_float_arr, c_varchar_arr, c_bytea_arr, c_jsonb_arr, c_inet_arr,
    c_ts_arr, c_tstz_arr, c_time_arr, c_hstore_arr, c_ltree_arr, c_int8range_arr,
    c_opt_text, c_opt_ts, c_toast_geom, c_toast_jsonb, c_toast_int_arr, c_interval_arr, c_box
    FROM type_matrix WHERE id = 2;
INSERT INTO type_matrix (id, c_req_ts, c_opt_ts) VALUES (5, '2000-01-01 00:00:00+00', '2000-01-01 00:00:00+00');
COMMIT;
-- The snapshot's edge rows again, streamed.
INSERT INTO type_matrix SELECT 100 + id, c_int2, c_int4, c_int8, 100 + id, c_bool, c_num, c_num_10_2,
    c_num_5, c_real, c_double, c_money, c_char, c_varchar, c_text, c_bytea, c_date, c_time, c_time3,
    c_timetz, c_ts, c_ts3, c_tstz, c_tstz0, c_tstz3, c_interval, c_json, c_jsonb, c_xml, c_uuid,
    c_inet, c_cidr, c_macaddr, c_macaddr8, c_bit1, c_bit10, c_varbit16, c_varbit, c_enum, c_dom_int,
    c_dom_text, c_dom_num, c_int_arr, c_text_arr, c_num_arr, c_date_arr, c_uuid_arr, c_int4range,
    c_int8range, c_numrange, c_tsrange, c_tstzrange, c_daterange, c_hstore, c_ltree, c_tsvector,
    c_oid, c_point, c_geom, c_geog, c_req_text, c_req_int, c_req_ts, c_toast_text, c_toast_bytea,
    c_citext, c_enum_arr, c_bool_arr, c_float_arr, c_varchar_arr, c_bytea_arr, c_jsonb_arr,
    c_inet_arr, c_ts_arr, c_tstz_arr, c_time_arr, c_hstore_arr, c_ltree_arr, c_int8range_arr,
    c_opt_text, c_opt_ts, c_toast_geom, c_toast_jsonb, c_toast_int_arr, c_interval_arr, c_box
    FROM type_matrix WHERE id IN (1, 3, 6, 7) ORDER BY id;
UPDATE type_matrix SET c_int4 = 99, c_text = 'updated', c_enum = 'sad' WHERE id = 1;
UPDATE type_matrix SET c_num = 1e-7, c_double = '-Infinity', c_real = '-Infinity' WHERE id = 2;
DELETE FROM type_matrix WHERE id = 3;
DELETE FROM type_matrix WHERE id = 2;
UPDATE type_matrix_full SET c_int4 = 99, c_text = 'updated' WHERE id = 1;
DELETE FROM type_matrix_full WHERE id = 2;
INSERT INTO oracle_sentinel VALUES (1, 'done');
