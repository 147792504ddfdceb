/* fuzz/fuzz_key.c -- how the engine reads keys and records back from the state store.
   The first byte picks a mode; the rest is its payload.
     0, 1  the payload as an encoded record and as a stored key:
           - the lazy field reader (coco__mp_skip, coco__mp_field, coco__mp_index) agrees with
             the full decoder: a value that decodes spans exactly what mp_skip says, and in a
             canonical map every one-letter field is found with exactly the bytes of its
             encoding (absent fields are not found); on any input they stay in bounds;
           - a decoded path (a list of keys) renders as a path string;
           - child target names "<container>/<hex of the key's encoding>" (how tombstones
             name the targets of containers) decode through coco__target_find: a name whose
             hex decodes to a value gives the child target whose own name is the canonical
             encoding of that value and whose fingerprint is that of (container, key); the
             same name again gives the same target; a bad name gives none;
     2, 3  an app runs once on an in-memory store (mounts, a memoized call, target states in
           a plain target and in a container's child target, a stable id); then the payload
           edits its stored records (replace, overwrite, cut, insert, delete, add records
           under the app's key tags) and the app runs again, fully reprocessed, and is
           dropped: any result code, but no crash, no undefined behaviour, no leak; with no
           edit every run succeeds, and a successful drop leaves no key of the app. */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "fuzz_common.h"

#define FK_T "fuzz_key"

static coco_result fk_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    (void)user; (void)acts; (void)n; (void)err; (void)cap;
    return COCO_OK;
}
static const coco_target_vtable fk_vt = { NULL, fk_apply };
static coco_result fk_child_open(void* user, const coco_value* key, const coco_target_vtable** vt,
                                 void** child_user) {
    (void)key;
    *vt = &fk_vt;
    *child_user = user;
    return COCO_OK;
}

static int fk_errors;
static void fk_on_error(void* user, const coco_error_info* e) {
    (void)user; (void)e;
    fk_errors++;
}

static coco_env* fk_env_open(fuzz_heap* heap, coco_target** plain, coco_target** container) {
    coco_env_desc d;
    coco_env* env = NULL;
    memset(&d, 0, sizeof d);
    d.allocator = fuzz_heap_allocator(heap, FK_T, (size_t)256 << 20, 0);
    d.in_memory = 1;
    d.threads = 1;
    d.sync = COCO_SYNC_NONE;
    d.on_error = fk_on_error;
    FUZZ_CHECK(FK_T, coco_env_open(&d, &env) == COCO_OK);
    FUZZ_CHECK(FK_T, coco_target_register(env, "t", &fk_vt, NULL, plain) == COCO_OK);
    FUZZ_CHECK(FK_T, coco_target_register_container(env, "c", &fk_vt, NULL, fk_child_open,
                                                    container) == COCO_OK);
    return env;
}

/* ---- modes 0 and 1 ------------------------------------------------------------------------- */
static void fk_lazy_reader(coco_arena* ar, const uint8_t* x, size_t n) {
    coco_value v;
    coco_bytes fields[26], enc;
    const unsigned char* q = coco__mp_skip(x, x + n);
    int letter;
    FUZZ_CHECK(FK_T, q == NULL || (q > x && q <= x + n));
    enc.ptr = x;
    enc.len = n;
    coco__mp_index(enc, fields);
    for (letter = 0; letter < 26; letter++) {
        const uint8_t* fp = (const uint8_t*)fields[letter].ptr;
        FUZZ_CHECK(FK_T, !fields[letter].len || (fp > x && fp + fields[letter].len <= x + n));
    }
    if (coco_value_decode(ar, x, n, &v) != COCO_OK) return;
    FUZZ_CHECKF(FK_T, q == x + n, "a value of %zu bytes: mp_skip stops at %ld", n,
                q ? (long)(q - x) : -1L);
    if (v.kind != COCO_MAP || coco_value_encode(ar, &v, &enc) != COCO_OK || enc.len != n ||
        memcmp(enc.ptr, x, n) != 0)
        return;
    /* canonical map: the lazy reader finds exactly the fields the decoder finds */
    for (letter = 0; letter < 26; letter++) {
        char name[2];
        const coco_value* f;
        coco_bytes rec, one;
        rec.ptr = x;
        rec.len = n;
        name[0] = (char)('a' + letter);
        name[1] = 0;
        f = coco__field(&v, name);
        one = coco__mp_field(rec, name[0]);
        if (!f) {
            FUZZ_CHECKF(FK_T, one.len == 0 && fields[letter].len == 0, "field '%s' found", name);
            continue;
        }
        FUZZ_CHECK(FK_T, coco_value_encode(ar, f, &enc) == COCO_OK);
        FUZZ_CHECKF(FK_T, one.len == enc.len && memcmp(one.ptr, enc.ptr, enc.len) == 0,
                    "mp_field '%s': %zu bytes, the decoder's field %zu", name, one.len, enc.len);
        FUZZ_CHECKF(FK_T, fields[letter].len == enc.len &&
                              memcmp(fields[letter].ptr, enc.ptr, enc.len) == 0,
                    "mp_index '%s': %zu bytes, the decoder's field %zu", name,
                    fields[letter].len, enc.len);
    }
}

static void fk_path(coco_arena* ar, const uint8_t* x, size_t n) {
    coco_value v;
    char* s;
    size_t i;
    if (coco_value_decode(ar, x, n, &v) != COCO_OK || v.kind != COCO_LIST) return;
    for (i = 0; i < v.u.list.count; i++) (void)coco__is_key_kind(&v.u.list.items[i], 0);
    s = coco__render_path(ar, &v);
    FUZZ_CHECK(FK_T, s != NULL && s[0] == '/');
}

static char* fk_hexname(const char* prefix, const uint8_t* p, size_t n, size_t* len) {
    static const char hex[] = "0123456789abcdef";
    size_t pl = strlen(prefix), i;
    char* s = (char*)malloc(pl + 2 * n + 1);
    if (!s) abort();
    memcpy(s, prefix, pl);
    for (i = 0; i < n; i++) {
        s[pl + 2 * i] = hex[p[i] >> 4];
        s[pl + 2 * i + 1] = hex[p[i] & 15];
    }
    s[pl + 2 * n] = 0;
    *len = pl + 2 * n;
    return s;
}

static void fk_target_names(coco_arena* ar, const uint8_t* x, size_t n) {
    fuzz_heap heap;
    coco_target *plain, *cont, *t, *t2;
    coco_env* env = fk_env_open(&heap, &plain, &cont);
    coco_value v;
    coco_bytes enc;
    size_t len, wl;
    char *name, *want;
    int decodes = coco_value_decode(ar, x, n, &v) == COCO_OK;
    int encodes = decodes && coco_value_encode(ar, &v, &enc) == COCO_OK;
    coco_fp pf;
    /* a child target is identified by the fingerprint of (container, key): a key nested so
       deep that the pair nests deeper than the values' limit names no target (coco_declare
       refuses such a key; coco_mount_target takes path keys, a few levels deep at most) */
    int pairs = encodes && coco__tk_fp(ar, "c", &v, &pf) == COCO_OK;
    name = fk_hexname("c/", x, n, &len);
    t = coco__target_find(env, name, len);
    if (!pairs) {
        FUZZ_CHECKF(FK_T, t == NULL, "target '%s' found for a key that does not %s", name,
                    !decodes ? "decode" : !encodes ? "encode" : "fingerprint with its container");
    } else {
        coco_fp f;
        FUZZ_CHECKF(FK_T, t != NULL, "no child target for '%s'", name);
        want = fk_hexname("c/", (const uint8_t*)enc.ptr, enc.len, &wl);
        FUZZ_CHECKF(FK_T, strcmp(t->name, want) == 0, "child target '%s' for '%s'", t->name, name);
        FUZZ_CHECK(FK_T, t->container == cont);
        FUZZ_CHECK(FK_T, coco__tk_fp(ar, "c", &v, &f) == COCO_OK && coco_fp_eq(f, t->ckey));
        t2 = coco__target_find(env, name, len);
        FUZZ_CHECK(FK_T, t2 == t);
        t2 = coco__target_find(env, want, wl);
        FUZZ_CHECK(FK_T, t2 == t);
        free(want);
        /* a child of the child (containers nest) */
        {
            size_t l3, l2 = strlen(t->name);
            char* sub = fk_hexname("/", x, n, &l3);
            char* full = (char*)malloc(l2 + l3 + 1);
            if (!full) abort();
            memcpy(full, t->name, l2);
            memcpy(full + l2, sub, l3 + 1);
            t2 = coco__target_find(env, full, l2 + l3);
            FUZZ_CHECK(FK_T, t2 != NULL && t2->container == t);
            free(sub);
            free(full);
        }
    }
    free(name);
    /* the payload itself as a name: any answer, no crash */
    {
        char* raw = (char*)malloc(n + 3);
        if (!raw) abort();
        memcpy(raw, "c/", 2);
        if (n) memcpy(raw + 2, x, n);
        raw[n + 2] = 0;
        (void)coco__target_find(env, raw, n + 2);
        (void)coco__target_find(env, raw + 2, n);
        free(raw);
    }
    FUZZ_CHECK(FK_T, coco__target_find(env, "t", 1) == plain);
    coco_env_close(env);
    FUZZ_CHECKF(FK_T, heap.live == 0, "%zu bytes not released", heap.live);
}

/* ---- modes 2 and 3: an app over edited records ------------------------------------------------ */
static coco_target *fk_plain, *fk_cont, *fk_child;

static coco_result fk_memo_body(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    coco_value* items = (coco_value*)coco_arena_alloc(coco_ctx_arena(ctx), 2 * sizeof *items);
    if (!items || n != 1) return COCO_ERR_NOMEM;
    items[0] = args[0];
    items[1] = coco_str("x");
    *ret = coco_list(items, 2);
    return COCO_OK;
}
static const coco_fn fk_memo_fn = { "fk.memo", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, fk_memo_body };

static coco_result fk_child_body(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    coco_value r;
    int64_t id;
    coco_result rc;
    (void)ret;
    if (n != 1) return COCO_ERR_INVALID_ARG;
    if ((rc = coco_call(ctx, &fk_memo_fn, args, 1, &r)) != COCO_OK) return rc;
    if ((rc = coco_declare(ctx, fk_plain, args[0], r)) != COCO_OK) return rc;
    if (fk_child && (rc = coco_declare(ctx, fk_child, args[0], coco_int(5))) != COCO_OK) return rc;
    return coco_generate_id(ctx, args[0], &id);
}
static const coco_fn fk_child_fn = { "fk.child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, fk_child_body };

static coco_result fk_main_body(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    static const char* const names[] = { "a", "b" };
    coco_value keys[3], pair[2];
    coco_result rc;
    (void)args; (void)n; (void)ret;
    if ((rc = coco_mount_target(ctx, fk_cont, coco_str("tbl"), coco_int(1), &fk_child)) != COCO_OK)
        return rc;
    pair[0] = coco_str(names[1]);
    pair[1] = coco_int(2);
    keys[0] = coco_str(names[0]);
    keys[1] = coco_int(7);
    keys[2] = coco_list(pair, 2);
    return coco_mount_each(ctx, &fk_child_fn, keys, keys, 3);
}
static const coco_fn fk_main_fn = { "fk.main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, fk_main_body };

typedef struct fk_rec {
    unsigned char *k, *v;
    size_t         kl, vl;
} fk_rec;
typedef struct fk_recs {
    fk_rec e[64];
    size_t n;
} fk_recs;

static int fk_collect(void* user, coco_bytes k, coco_bytes v) {
    fk_recs* r = (fk_recs*)user;
    if (r->n == 64) return 1;
    r->e[r->n].k = (unsigned char*)malloc(k.len + 1);
    r->e[r->n].v = (unsigned char*)malloc(v.len + 1);
    if (!r->e[r->n].k || !r->e[r->n].v) abort();
    memcpy(r->e[r->n].k, k.ptr, k.len);
    if (v.len) memcpy(r->e[r->n].v, v.ptr, v.len);
    r->e[r->n].kl = k.len;
    r->e[r->n].vl = v.len;
    r->n++;
    return 0;
}
static void fk_recs_free(fk_recs* r) {
    size_t i;
    for (i = 0; i < r->n; i++) {
        free(r->e[i].k);
        free(r->e[i].v);
    }
    r->n = 0;
}

static void fk_app_mode(const uint8_t* p, size_t n) {
    fuzz_heap heap;
    fuzz_in in;
    coco_env* env;
    coco_app* app = NULL;
    coco_app_desc ad;
    coco_update_desc ud;
    coco_scan_desc sd;
    fk_recs recs;
    coco_txn* t;
    coco_result rc1, rc2, rc3;
    size_t edits = 0;
    in.p = p;
    in.n = n;
    fk_child = NULL;
    env = fk_env_open(&heap, &fk_plain, &fk_cont);
    memset(&ad, 0, sizeof ad);
    ad.name = "fz";
    ad.main = &fk_main_fn;
    FUZZ_CHECK(FK_T, coco_app_create(env, &ad, &app) == COCO_OK);
    memset(&ud, 0, sizeof ud);
    FUZZ_CHECK(FK_T, coco_app_update(app, &ud, NULL) == COCO_OK);

    /* the app's records, then the edits */
    memset(&recs, 0, sizeof recs);
    memset(&sd, 0, sizeof sd);
    sd.prefix.ptr = "Afz";
    sd.prefix.len = 4;                                  /* "A" name NUL */
    FUZZ_CHECK(FK_T, coco_store_scan(coco_env_store(env), &sd, fk_collect, &recs) == COCO_OK);
    FUZZ_CHECK(FK_T, recs.n > 0);
    FUZZ_CHECK(FK_T, coco_store_txn_begin(coco_env_store(env), &t) == COCO_OK);
    while (in.n && edits < 16) {
        fk_rec* r = &recs.e[fuzz_u8(&in) % recs.n];
        unsigned kind = fuzz_u8(&in) % 6u;
        size_t off = fuzz_u16(&in), got, m;
        const uint8_t* b = fuzz_take(&in, fuzz_u8(&in) % 48u, &got);
        unsigned char* nv;
        edits++;
        switch (kind) {
        case 0:                                           /* replace the value */
            coco_txn_put(t, r->k, r->kl, b, got);
            break;
        case 1:                                           /* overwrite inside it */
            nv = (unsigned char*)malloc(r->vl + 1);
            if (!nv) abort();
            memcpy(nv, r->v, r->vl);
            for (m = 0; m < got && r->vl; m++) nv[(off + m) % r->vl] = b[m];
            coco_txn_put(t, r->k, r->kl, nv, r->vl);
            free(nv);
            break;
        case 2:                                           /* cut it */
            coco_txn_put(t, r->k, r->kl, r->v, off % (r->vl + 1));
            break;
        case 3:                                           /* insert bytes */
            off %= r->vl + 1;
            nv = (unsigned char*)malloc(r->vl + got + 1);
            if (!nv) abort();
            memcpy(nv, r->v, off);
            if (got) memcpy(nv + off, b, got);
            memcpy(nv + off + got, r->v + off, r->vl - off);
            coco_txn_put(t, r->k, r->kl, nv, r->vl + got);
            free(nv);
            break;
        case 4:                                           /* delete the record */
            coco_txn_del(t, r->k, r->kl);
            break;
        default: {                                        /* another record of the app */
            static const char tags[] = "czngiu";
            unsigned char k[4 + 1 + 16];
            memcpy(k, "Afz", 4);
            k[4] = (unsigned char)tags[off % 6u];
            memset(k + 5, 0, 16);
            if (r->kl == sizeof k) memcpy(k + 5, r->k + 5, 16);
            k[5 + (off >> 8) % 16u] ^= (unsigned char)(off >> 4);
            coco_txn_put(t, k, (off & 8) ? 5 : sizeof k, b, got);
            break;
        }
        }
    }
    FUZZ_CHECK(FK_T, coco_txn_commit(t) == COCO_OK);
    fk_recs_free(&recs);

    rc1 = coco_app_update(app, &ud, NULL);
    ud.full_reprocess = 1;
    rc2 = coco_app_update(app, &ud, NULL);
    rc3 = coco_app_drop(app);
    if (!edits) FUZZ_CHECK(FK_T, rc1 == COCO_OK && rc2 == COCO_OK && rc3 == COCO_OK);
    if (rc3 == COCO_OK) {
        FUZZ_CHECK(FK_T, coco_store_scan(coco_env_store(env), &sd, fk_collect, &recs) == COCO_OK);
        FUZZ_CHECKF(FK_T, recs.n == 0, "drop succeeded but %zu records of the app remain", recs.n);
    }
    coco_app_destroy(app);
    coco_env_close(env);
    FUZZ_CHECKF(FK_T, heap.live == 0, "%zu bytes not released", heap.live);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_heap heap;
    coco_allocator a;
    coco_arena* ar = NULL;
    unsigned mode;
    if (size > 65536) return 0;
    mode = size ? data[0] % 4u : 0;
    if (size) { data++; size--; }
    if (mode >= 2) {
        fk_app_mode(data, size);
        return 0;
    }
    a = fuzz_heap_allocator(&heap, FK_T, (size_t)256 << 20, 0);
    FUZZ_CHECK(FK_T, coco_arena_create(&a, &ar) == COCO_OK);
    fk_lazy_reader(ar, data, size);
    coco_arena_reset(ar);
    fk_path(ar, data, size);
    coco_arena_reset(ar);
    fk_target_names(ar, data, size);
    coco_arena_destroy(ar);
    FUZZ_CHECKF(FK_T, heap.live == 0, "%zu bytes not released", heap.live);
    return 0;
}
