-- Snapshot rows of the type matrix: typical values, edge values, nulls.
INSERT INTO type_matrix VALUES (
    1, 12345, -2147483648, 9223372036854775807, DEFAULT, true,
    3.14159, 12345.67, 99999, 1.5, -2.25, 12.34,
    'ab', 'hello', 'text with ünïcode', '\xdeadbeef',
    '2024-02-29', '11:45:01.123456', '11:45:01.123', '11:45:01.5+02', '2024-02-29 11:45:01.123456',
    '2024-02-29 11:45:01.123', '2024-02-29 13:45:01.5+02', '2024-02-29 13:45:01+02', '2024-02-29 13:45:01.5+02',
    '1 year 2 mons 3 days 04:05:06.78', '{"a": [1, 2], "b": null}', '{"b": [1, 2], "a": "x"}', '<a>x</a>',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
    '08:00:2b:01:02:03:04:05', B'1', B'1010000111', B'101', B'1111000011110000111',
    'happy', 7, 'short', 123.456,
    '{1,2,NULL,4}', '{"a","b c",NULL,""}', '{1.5,NULL,-2}', '{2024-01-01,NULL}',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    '[1,10)', '[5,)', '(1.5,2.5]', '["2024-01-01 00:00:00","2024-01-02 00:00:00")',
    '["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00")', '[2024-01-01,2024-02-01)',
    'a=>1, "b c"=>NULL, z=>"x y"', 'Top.Science.Astronomy', 'a fat cat sat on a mat', 4000000000,
    '(1.5,-2.25)', 'SRID=3187;POINT(174.9479 -36.7208)', 'SRID=4326;POINT(13.4 52.5)',
    'required', 1, '2024-02-29 13:45:01+00',
    (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 200) AS i),
    (SELECT decode(string_agg(md5(i::text), ''), 'hex') FROM generate_series(1, 200) AS i)
), (
    2, -32768, 2147483647, -9223372036854775808, DEFAULT, false,
    'NaN', -0.01, -99999, 'NaN', 'Infinity', -92233720368547758.08,
    'abcde', '', '', '\x',
    '-infinity', '00:00:00', '23:59:59.999', '00:00:00-11:30', 'infinity',
    '-infinity', 'infinity', '-infinity', '0044-03-15 12:00:00+00 BC',
    '-3 days -00:00:01.5', '[]', '{}', '<r/>',
    '00000000-0000-0000-0000-000000000000', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
    'ff:ff:ff:ff:ff:ff:ff:ff', B'0', B'0000000001', B'', B'0',
    'meh', 2147483647, '', -99999.999,
    '{}', '{NULL}', '{}', '{}', '{}',
    'empty', '(,)', '[-1.5,1.5]', '(,"2024-01-01 00:00:00")',
    '["2024-01-01 00:00:00.123+00",)', 'empty',
    '', '', '', 0,
    '(0,0)', 'LINESTRING(0 0, 1 1, 2 0)', 'POINT(-122.3 47.6)',
    '', 0, '1970-01-01 00:00:00+00',
    NULL, NULL
), (
    3, NULL, NULL, NULL, DEFAULT, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL,
    '0001-01-01 BC', NULL, NULL, NULL, '12345-06-07 08:09:10.5',
    NULL, '12345-06-07 08:09:10.5+00', NULL, NULL,
    NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL,
    NULL, NULL, NULL,
    DEFAULT, DEFAULT, DEFAULT,
    NULL, NULL
);
-- More edge values: the other infinities, BC, large hours, escapes, an hstore large enough
-- to resize Java's HashMap, high bits.
INSERT INTO type_matrix (id, c_num, c_num_arr, c_real, c_double, c_char, c_text, c_date, c_time,
    c_time3, c_timetz, c_ts, c_ts3, c_tstz, c_tstz0, c_interval, c_json, c_xml, c_bit10,
    c_varbit16, c_varbit, c_text_arr, c_hstore, c_money, c_point, c_geom, c_date_arr, c_req_ts)
VALUES (6, 'Infinity', '{-Infinity,NaN,0.000}', 'Infinity', 'NaN', 'a', E'quote " backslash \\ tab \t nl \n é 😀',
    'infinity', '24:00:00', '00:00:00.001', '24:00:00+00', '0001-01-01 00:00:00 BC',
    'infinity', '0001-01-01 00:00:00+00 BC', '9999-12-31 23:59:59+00',
    '-1 years -2 mons +3 days 100:00:00.000001', '{"k": "\u00e9 \" x"}', '<a b="c">&amp;</a>',
    B'1000000000', B'10000000', B'1',
    '{"x,y","{}","\\",NULL,"NULL"}',
    'k01=>1, k02=>2, k03=>3, k04=>4, k05=>5, k06=>6, k07=>7, k08=>8, k09=>9, k10=>10, k11=>11, k12=>12, k13=>13, "a\"b"=>"c\\d"',
    '0.01', '(-0.5,1e300)', 'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))',
    '{0044-03-15 BC,infinity}', '2024-02-29 13:45:01.999999+00'),
  (7, '-Infinity', NULL, '-Infinity', '-0', 'abcde', '', '0044-03-15 BC', '12:00:00', NULL,
    '23:59:59.999999-14:59', '2000-02-29 00:00:00', NULL, '2000-01-01 00:00:00.000001+00',
    '2000-01-01 00:00:00.5+00', '00:00:00.000007', 'null', NULL, NULL, NULL, NULL, NULL, NULL,
    '-0.01', NULL, NULL, NULL, '2024-01-01 00:00:00+00');
UPDATE type_matrix SET c_citext = 'MiXeD', c_enum_arr = '{happy,NULL,meh}',
    c_bool_arr = '{t,NULL,f}', c_float_arr = '{1.5,NaN,-Infinity,NULL}',
    c_varchar_arr = '{"a b",""}', c_bytea_arr = '{"\\xdeadbeef",NULL}',
    c_jsonb_arr = ARRAY['{"a": 1}'::jsonb, NULL], c_inet_arr = '{10.0.0.1/8,::1}',
    c_ts_arr = '{"2024-02-29 11:45:01.123456",NULL}', c_tstz_arr = '{"2024-02-29 13:45:01.5+02"}',
    c_time_arr = '{11:45:01.5}', c_hstore_arr = ARRAY['a=>1'::hstore, NULL],
    c_ltree_arr = '{Top.Science,a}', c_int8range_arr = '{"[1,5)",empty}',
    c_interval_arr = '{1 day}', c_box = '((0,0),(1,1))'
  WHERE id IN (1, 6);
UPDATE type_matrix SET c_enum_arr = '{}', c_bool_arr = '{}', c_float_arr = '{}', c_citext = '',
    c_opt_text = NULL, c_opt_ts = NULL
  WHERE id = 2;
UPDATE type_matrix SET c_opt_ts = '2024-02-29 13:45:01.5+00' WHERE id <> 2;
UPDATE type_matrix SET
    c_toast_geom = (SELECT ST_MakeLine(array_agg(ST_MakePoint(i * 1.37, sin(i) * 1000)))
                    FROM generate_series(1, 2000) AS i),
    c_toast_jsonb = (SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 300) AS i),
    c_toast_int_arr = (SELECT array_agg((i * 7919) % 100003) FROM generate_series(1, 3000) AS i)
  WHERE id = 1;
INSERT INTO type_matrix_full SELECT * FROM type_matrix;
