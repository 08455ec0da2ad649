/* tree_builder: many small objects with random lifetimes in one thread, in
 * the shape of the classic allocation-heavy programs (espresso's cube
 * lists, cfrac's bignums, barnes' tree of bodies); written here from their
 * descriptions, nothing copied.
 *
 *   tree_builder ITERS KEYS SEED
 *
 * A binary search tree over random keys below KEYS (so it holds about
 * KEYS/2 nodes once warm): each step inserts a key (a 40-byte node and a
 * separate payload of 8..200 bytes) or deletes one (both freed); one step
 * in four grows or shrinks a payload with realloc, as a bignum does; one
 * in eight builds a short-lived list of 2..32 cells of 16..64 bytes and
 * frees it, as an expression evaluator does with its temporaries. Every
 * few thousand steps a whole subtree is torn down and regrown.
 *
 * Prints: tree_builder: ... ops=N seconds=X ops/s=N (ops counts every
 * malloc, realloc and free).
 */
#include <string.h>

#include "workload_common.h"

struct node {
  struct node *left, *right;
  uint64_t key;
  size_t len;
  unsigned char *payload;
};

struct cell {
  struct cell *next;
  uint64_t value;
};

static uint64_t g_ops;

static unsigned char *new_payload(size_t len) {
  unsigned char *p = malloc(len);
  if (!p) wl_out_of_memory("tree_builder", len);
  memset(p, (int)len, len);
  g_ops++;
  return p;
}

static struct node **find(struct node **at, uint64_t key) {
  while (*at && (*at)->key != key) at = key < (*at)->key ? &(*at)->left : &(*at)->right;
  return at;
}

static void insert(struct node **root, uint64_t key, uint64_t *rng) {
  struct node **at = find(root, key);
  if (*at) return;
  struct node *n = malloc(sizeof *n);
  if (!n) wl_out_of_memory("tree_builder", sizeof *n);
  g_ops++;
  n->left = n->right = NULL;
  n->key = key;
  n->len = wl_rand_between(rng, 8, 200);
  n->payload = new_payload(n->len);
  *at = n;
}

static void destroy(struct node *n) {
  g_ops += 2;
  free(n->payload);
  free(n);
}

static void erase(struct node **root, uint64_t key) {
  struct node **at = find(root, key);
  struct node *n = *at;
  if (!n) return;
  if (!n->left || !n->right) {
    *at = n->left ? n->left : n->right;
  } else {
    /* Splice in the smallest node of the right subtree. */
    struct node **min = &n->right;
    while ((*min)->left) min = &(*min)->left;
    struct node *m = *min;
    *min = m->right;
    m->left = n->left;
    m->right = n->right;
    *at = m;
  }
  destroy(n);
}

static void tear_down(struct node *n) {
  while (n) {
    tear_down(n->left);
    struct node *right = n->right;
    destroy(n);
    n = right;
  }
}

static void resize_payload(struct node *n, uint64_t *rng) {
  const size_t len = wl_rand_between(rng, 8, 200);
  unsigned char *p = realloc(n->payload, len);
  if (!p) wl_out_of_memory("tree_builder", len);
  if (len > n->len) memset(p + n->len, (int)len, len - n->len);
  n->payload = p;
  n->len = len;
  g_ops++;
}

static uint64_t scratch_list(uint64_t *rng) {
  struct cell *head = NULL;
  const size_t cells = wl_rand_between(rng, 2, 32);
  for (size_t i = 0; i < cells; i++) {
    struct cell *c = malloc(wl_rand_between(rng, sizeof *c, 64));
    if (!c) wl_out_of_memory("tree_builder", 64);
    c->next = head;
    c->value = i;
    head = c;
  }
  uint64_t sum = 0;
  while (head) {
    struct cell *next = head->next;
    sum += head->value;
    free(head);
    head = next;
  }
  g_ops += 2 * cells;
  return sum;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ITERS KEYS SEED\n", argv[0]);
    return 2;
  }
  const uint64_t iters = wl_arg(argc, argv, 1, 0, "ITERS");
  const uint64_t keys = wl_arg(argc, argv, 2, 0, "KEYS");
  uint64_t rng = wl_arg(argc, argv, 3, 0, "SEED");
  if (keys == 0) {
    fprintf(stderr, "%s: need KEYS >= 1\n", argv[0]);
    return 2;
  }
  struct node *root = NULL;
  uint64_t sum = 0;
  const double start = wl_now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    const uint64_t r = wl_rand(&rng);
    const uint64_t key = (r >> 16) % keys;
    if (r & 1) insert(&root, key, &rng);
    else erase(&root, key);
    if ((r & 0x30) == 0) {
      struct node *n = *find(&root, key);
      if (n) resize_payload(n, &rng);
    }
    if ((r & 0x1c0) == 0) sum += scratch_list(&rng);
    if (i % 4096 == 4095 && root) {
      /* One side of the root goes at once, as a program drops a finished
       * phase's structure; the next steps regrow it. */
      struct node **side = (r & 2) ? &root->left : &root->right;
      tear_down(*side);
      *side = NULL;
    }
  }
  tear_down(root);
  const double seconds = wl_now_seconds() - start;
  char params[128];
  snprintf(params, sizeof params, "iters=%llu keys=%llu sum=%llu", (unsigned long long)iters,
           (unsigned long long)keys, (unsigned long long)sum);
  wl_report("tree_builder", params, g_ops, seconds);
  return 0;
}
