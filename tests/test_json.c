/* tests/test_json.c -- the JSON parser and writer (coco_json_parse / coco_json_write). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"
#include <locale.h>

static coco_arena* A;

static coco_result parse(const char* text, coco_value* v) {
    return coco_json_parse(A, text, strlen(text), v);
}

static const char* write_json(coco_value v) {
    coco_bytes b;
    if (coco_json_write(A, &v, &b) != COCO_OK) return NULL;
    return (const char*)b.ptr;
}

static const coco_value* get(const coco_value* m, const char* key) {
    size_t i;
    if (m->kind != COCO_MAP) return NULL;
    for (i = 0; i < m->u.map.count; i++)
        if (m->u.map.entries[i].key_len == strlen(key) &&
            !memcmp(m->u.map.entries[i].key, key, strlen(key)))
            return &m->u.map.entries[i].val;
    return NULL;
}

static void json_parses_an_openai_embedding_response(void) {
    const char* t =
        "{\n  \"object\": \"list\",\n  \"data\": [\n    {\"object\": \"embedding\", \"index\": 1,"
        " \"embedding\": [0.5, -1.25e-2, 3]},\n    {\"object\": \"embedding\", \"index\": 0, "
        "\"embedding\": [1E2, 0, -0.0]}\n  ],\n  \"model\": \"m\",\n  \"usage\": {\"prompt_tokens\":"
        " 5, \"total_tokens\": 5}\n}\n";
    coco_value v;
    const coco_value *data, *e0, *emb;
    REQUIRE(parse(t, &v) == COCO_OK);
    REQUIRE(v.kind == COCO_MAP);
    CHECK_INT_EQ(v.u.map.count, 4);
    CHECK_STR_EQ(v.u.map.entries[0].key, "object");       /* members in text order */
    data = get(&v, "data");
    REQUIRE(data && data->kind == COCO_LIST && data->u.list.count == 2);
    e0 = &data->u.list.items[0];
    REQUIRE(get(e0, "index") && get(e0, "index")->kind == COCO_INT);
    CHECK_INT_EQ(get(e0, "index")->u.i, 1);
    emb = get(e0, "embedding");
    REQUIRE(emb && emb->kind == COCO_LIST && emb->u.list.count == 3);
    CHECK(emb->u.list.items[0].kind == COCO_FLOAT && emb->u.list.items[0].u.f == 0.5);
    CHECK(emb->u.list.items[1].kind == COCO_FLOAT && emb->u.list.items[1].u.f == -1.25e-2);
    CHECK(emb->u.list.items[2].kind == COCO_INT && emb->u.list.items[2].u.i == 3);
    emb = get(&data->u.list.items[1], "embedding");
    REQUIRE(emb && emb->u.list.count == 3);
    CHECK(emb->u.list.items[0].kind == COCO_FLOAT && emb->u.list.items[0].u.f == 100.0);
    CHECK(emb->u.list.items[2].kind == COCO_FLOAT && emb->u.list.items[2].u.f == 0.0);
    CHECK_INT_EQ(get(get(&v, "usage"), "total_tokens")->u.i, 5);
}

static void json_scalars_and_integer_limits(void) {
    coco_value v;
    REQUIRE(parse(" null ", &v) == COCO_OK); CHECK(v.kind == COCO_NULL);
    REQUIRE(parse("true", &v) == COCO_OK); CHECK(v.kind == COCO_BOOL && v.u.b == 1);
    REQUIRE(parse("false", &v) == COCO_OK); CHECK(v.kind == COCO_BOOL && v.u.b == 0);
    REQUIRE(parse("9223372036854775807", &v) == COCO_OK);
    CHECK(v.kind == COCO_INT && v.u.i == INT64_MAX);
    REQUIRE(parse("-9223372036854775808", &v) == COCO_OK);
    CHECK(v.kind == COCO_INT && v.u.i == INT64_MIN);
    REQUIRE(parse("9223372036854775808", &v) == COCO_OK);         /* beyond int64: a float */
    CHECK(v.kind == COCO_FLOAT && v.u.f == 9223372036854775808.0);
    REQUIRE(parse("-0", &v) == COCO_OK); CHECK(v.kind == COCO_INT && v.u.i == 0);
    REQUIRE(parse("1e-400", &v) == COCO_OK); CHECK(v.kind == COCO_FLOAT && v.u.f == 0.0);
    REQUIRE(parse("[]", &v) == COCO_OK); CHECK(v.kind == COCO_LIST && v.u.list.count == 0);
    REQUIRE(parse("{}", &v) == COCO_OK); CHECK(v.kind == COCO_MAP && v.u.map.count == 0);
    REQUIRE(parse("\"\"", &v) == COCO_OK); CHECK(v.kind == COCO_STR && v.u.s.len == 0);
}

static void json_string_escapes_and_unicode(void) {
    coco_value v;
    /* \u00e9 = é, \ud83d\ude00 = U+1F600, raw UTF-8 passes through, \u0000 is kept */
    REQUIRE(parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 \xc3\xa9\xe2\x82\xac\\u0000z\"",
                  &v) == COCO_OK);
    REQUIRE(v.kind == COCO_STR);
    CHECK_INT_EQ(v.u.s.len, 26);
    CHECK(!memcmp(v.u.s.ptr, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac\0z", 26));
}

static void json_errors_name_line_and_column(void) {
    coco_value v;
    v.kind = COCO_INT;
    CHECK(parse("{\n  \"a\": 1,\n  \"b\": tru\n}", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "line 3, column 8");
    CHECK(v.kind == COCO_INT);                                        /* untouched */
    CHECK(parse("[1, 2,]", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "trailing comma");
    CHECK(parse("{\"a\":1,\"a\":2}", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "\"a\" appears twice");
    CHECK(parse("[1] x", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "after the JSON value");
    CHECK(parse("", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "found the end");
    CHECK(parse("[1, 2", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "not closed");
    CHECK(parse("\"abc", &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "string not closed");
}

static void json_strictness(void) {
    static const char* bad[] = {
        "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "-Infinity", "1e999", "-1e999",
        "[1,,2]", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "/* c */ 1", "// c\n1", "tru",
        "nul", "\"\\x41\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"tab\there\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"",
        "\"\xe2\x82\"", "{\"a\":1,}", "[", "{", "{\"a\"", "{\"a\":", "\xef\xbb\xbf{}"};
    size_t i;
    coco_value v;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        coco_result rc = parse(bad[i], &v);
        if (rc != COCO_ERR_DECODE) printf("#   accepted or wrong code %d: %s\n", (int)rc, bad[i]);
        CHECK(rc == COCO_ERR_DECODE);
    }
}

static void json_nesting_is_bounded(void) {
    char deep[600];
    coco_value v;
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    CHECK(coco_json_parse(A, deep, 600, &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "nesting deeper than 128");
    CHECK(coco_json_parse(A, deep + 300 - 100, 200, &v) == COCO_OK);   /* 100 levels are fine */
}

static void json_write_forms(void) {
    coco_map_entry m[3];
    coco_value items[6], l;
    const float vec[3] = {0.1f, -2.5f, 1e-7f};
    const uint8_t u[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                           0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    items[0] = coco_int(-42);
    items[1] = coco_float(1.0);
    items[2] = coco_float(0.1);
    items[3] = coco_strn("q\"\\\n\x01\xff", 6);
    items[4] = coco_bytes_val("hello", 5);
    items[5] = coco_uuid(u);
    l = coco_list(items, 6);
    CHECK_STR_EQ(write_json(l), "[-42,1.0,0.1,\"q\\\"\\\\\\n\\u0001\xef\xbf\xbd\",\"aGVsbG8=\","
                                "\"12345678-9abc-def0-0123-456789abcdef\"]");
    m[0].key = "z"; m[0].key_len = 1; m[0].val = coco_vec_f32(vec, 3);
    m[1].key = "a"; m[1].key_len = 1; m[1].val = coco_null();
    m[2].key = "b"; m[2].key_len = 1; m[2].val = coco_bool(1);
    CHECK_STR_EQ(write_json(coco_map(m, 3)), "{\"z\":[0.1,-2.5,1e-07],\"a\":null,\"b\":true}");
    CHECK_STR_EQ(write_json(coco_float(1e300)), "1e+300");
    CHECK_STR_EQ(write_json(coco_float(-0.0)), "-0.0");
    CHECK_STR_EQ(write_json(coco_float(123456789012.0)), "123456789012.0");
    CHECK(write_json(coco_float(0.0 / 0.0)) == NULL);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "NaN");
}

static void json_round_trips(void) {
    static const char* texts[] = {
        "[0.1,0.2,0.30000000000000004,1e-300,2.2250738585072014e-308,1.7976931348623157e+308]",
        "{\"k\":[{\"x\":[]},{\"y\":{}},\"\\u0000\\u001f\",-1,9223372036854775807]}",
        "\"\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\"",
        "[true,false,null,-0.0,5e-324]"};
    size_t i;
    for (i = 0; i < sizeof texts / sizeof *texts; i++) {
        coco_value a, b;
        coco_bytes w;
        REQUIRE(parse(texts[i], &a) == COCO_OK);
        REQUIRE(coco_json_write(A, &a, &w) == COCO_OK);
        REQUIRE(coco_json_parse(A, (const char*)w.ptr, w.len, &b) == COCO_OK);
        CHECK(coco_value_eq(A, &a, &b));
        CHECK_STR_EQ((const char*)w.ptr, texts[i]);       /* these are already in shortest form */
    }
}

/* A locale with "," as decimal point must change neither reading nor writing. */
static void json_numbers_ignore_the_locale(void) {
    coco_value v;
    const char* loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    if (!loc) { printf("# no locale with a decimal comma installed: checking the C locale only\n"); }
    REQUIRE(parse("2.5", &v) == COCO_OK);
    CHECK(v.kind == COCO_FLOAT && v.u.f == 2.5);
    CHECK_STR_EQ(write_json(coco_float(2.5)), "2.5");
    setlocale(LC_NUMERIC, "C");
}

static void json_large_array_and_object(void) {
    /* 20000 numbers and an object with 2000 members (duplicate check by sorting) */
    size_t cap = 20000 * 12 + 16, n = 0, i;
    char* t = (char*)malloc(cap);
    coco_value v;
    REQUIRE(t);
    t[n++] = '[';
    for (i = 0; i < 20000; i++) n += (size_t)sprintf(t + n, "%s%zu.5", i ? "," : "", i);
    t[n++] = ']';
    REQUIRE(coco_json_parse(A, t, n, &v) == COCO_OK);
    CHECK(v.kind == COCO_LIST && v.u.list.count == 20000);
    CHECK(v.u.list.items[19999].u.f == 19999.5);
    n = 0;
    t[n++] = '{';
    for (i = 0; i < 2000; i++) n += (size_t)sprintf(t + n, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    t[n++] = '}';
    REQUIRE(coco_json_parse(A, t, n, &v) == COCO_OK);
    CHECK(v.kind == COCO_MAP && v.u.map.count == 2000);
    n -= 1;
    n += (size_t)sprintf(t + n, ",\"k1234\":0}");
    CHECK(coco_json_parse(A, t, n, &v) == COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "\"k1234\" appears twice");
    free(t);
}

int main(int argc, char** argv) {
    coco_test_begin("json", argc, argv);
    if (coco_arena_create(NULL, &A) != COCO_OK) return 1;
    RUN(json_parses_an_openai_embedding_response);
    RUN(json_scalars_and_integer_limits);
    RUN(json_string_escapes_and_unicode);
    RUN(json_errors_name_line_and_column);
    RUN(json_strictness);
    RUN(json_nesting_is_bounded);
    RUN(json_write_forms);
    RUN(json_round_trips);
    RUN(json_numbers_ignore_the_locale);
    RUN(json_large_array_and_object);
    coco_arena_destroy(A);
    return coco_test_end();
}
