/* The C kernels' own worker threads: cc_pool_run runs a job, a table of kernel calls grouped in
   chunks, on the calling thread and the pool's workers (ops/_clib.py builds the table).

   Why not Python's worker pool (ops/_parallel.py), which the NumPy kernels keep: there each chunk
   is Python code that needs the GIL to start and to finish, and a LeNet-5 step's ~9 parallel ops
   spent ~1.8 ms of its ~10.5 in that hand-off (a worker started ~80 us after the op, the caller
   then waited for it). Here a job is published with one atomic store and the workers never touch
   Python. Threads take chunks in turn from one atomic ticket (generation | chunk count | next
   chunk), so a worker that wakes late finds the chunks taken and the caller does not wait for it.

   An idle worker spins (with pause) for spin_us microseconds before it sleeps on a condition
   variable, as OpenMP runtimes' threads do: waking a sleeping thread costs ~45 us on this
   project's virtual machines (an idle virtual CPU is halted), once per op. Measured, 2 threads:
   LeNet-5's C3 forward 0.315 -> 0.272 ms, a LeNet-5 training step 8.5-9.0 -> 7.8-8.0 ms with
   300 us; ResNet-20 the same with 0, 100 or 300 us, 10% slower with 1000 (the spinning worker
   then takes a core from the NumPy kernels' threads). CONVNET_SPIN_US sets it (ops/_clib.py).

   A job: rows of ncols int64 (row[0] a task id, see run_row, the rest its arguments); chunk i is
   rows bounds[i] .. bounds[i+1]-1, run in order by one thread. One job at a time: a second caller
   (another Python thread) runs its job on its own thread. After a fork the child starts with no
   workers. */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "_ckernels.h"

/* ---- the tasks ---------------------------------------------------------------------------- */

enum { T_CONV_FWD, T_CONV_WGRAD, T_PLANES_FWD, T_PLANES_WGRAD, T_RELU_FWD, T_RELU_BWD, T_MAXPOOL_PLANES_FWD,
       T_MAXPOOL_PLANES_BWD, T_MAXPOOL_LAST_FWD, T_MAXPOOL_LAST_BWD, T_BN_MOMENTS, T_BN_AFFINE,
       T_BN_GRAD_SUMS, T_BN_GRAD_INPUT, T_PAD_LAST, T_PAD_PLANES, T_BIAS_LAST, T_BIAS_PLANES, NTASKS };

static const char *const TASK_NAMES[NTASKS] = {
    "cc_conv2d_forward", "cc_conv2d_weight_grad", "cc_conv2d_planes_forward", "cc_conv2d_planes_weight_grad",
    "cc_relu_forward", "cc_relu_backward", "cc_maxpool2d_planes_forward", "cc_maxpool2d_planes_backward",
    "cc_maxpool2d_last_forward", "cc_maxpool2d_last_backward", "cc_bn_moments", "cc_bn_affine",
    "cc_bn_grad_sums", "cc_bn_grad_input", "cc_pad_last", "cc_pad_planes", "cc_bias_last", "cc_bias_planes"};

/* The id of a task by its function's name, or -1. */
int64_t cc_task_id(const char *name) {
    for (int i = 0; i < NTASKS; i++)
        if (strcmp(name, TASK_NAMES[i]) == 0) return i;
    return -1;
}

#define F(i) ((float *)(intptr_t)r[i])
#define D(i) ((double *)(intptr_t)r[i])
#define I32(i) ((int32_t *)(intptr_t)r[i])
#define I64(i) ((const int64_t *)(intptr_t)r[i])

static void run_row(const int64_t *r) {
    switch (r[0]) {
    case T_CONV_FWD: cc_conv2d_forward(F(1), F(2), F(3), r[4], r[5], I64(6)); break;
    case T_CONV_WGRAD: cc_conv2d_weight_grad(F(1), F(2), F(3), r[4], r[5], I64(6)); break;
    case T_PLANES_FWD: cc_conv2d_planes_forward(F(1), F(2), F(3), r[4], r[5], I64(6)); break;
    case T_PLANES_WGRAD: cc_conv2d_planes_weight_grad(F(1), F(2), F(3), r[4], r[5], I64(6)); break;
    case T_RELU_FWD: cc_relu_forward(F(1), F(2), r[3]); break;
    case T_RELU_BWD: cc_relu_backward(F(1), F(2), F(3), r[4]); break;
    case T_MAXPOOL_PLANES_FWD: cc_maxpool2d_planes_forward(F(1), F(2), I32(3), r[4], I64(5)); break;
    case T_MAXPOOL_PLANES_BWD: cc_maxpool2d_planes_backward(F(1), I32(2), F(3), r[4], I64(5)); break;
    case T_MAXPOOL_LAST_FWD: cc_maxpool2d_last_forward(F(1), F(2), I32(3), r[4], r[5], I64(6)); break;
    case T_MAXPOOL_LAST_BWD: cc_maxpool2d_last_backward(F(1), I32(2), F(3), r[4], r[5], I64(6)); break;
    case T_BN_MOMENTS: cc_bn_moments(F(1), r[2], r[3], F(4), D(5), D(6), r[7]); break;
    case T_BN_AFFINE: cc_bn_affine(F(1), F(2), r[3], r[4], F(5), F(6)); break;
    case T_BN_GRAD_SUMS: cc_bn_grad_sums(F(1), F(2), r[3], r[4], F(5), D(6), D(7)); break;
    case T_BN_GRAD_INPUT: cc_bn_grad_input(F(1), F(2), F(3), r[4], r[5], F(6), F(7), F(8), F(9)); break;
    case T_PAD_LAST: cc_pad_last(F(1), F(2), r[3], I64(4)); break;
    case T_PAD_PLANES: cc_pad_planes(F(1), F(2), r[3], I64(4)); break;
    case T_BIAS_LAST: cc_bias_last(F(1), F(2), r[3], r[4]); break;
    case T_BIAS_PLANES: cc_bias_planes(F(1), F(2), r[3], r[4], r[5]); break;
    default: break;
    }
}

/* ---- the pool ------------------------------------------------------------------------------ */

#define MAX_WORKERS 63
#define GEN(t) ((uint32_t)((t) >> 32))
#define COUNT(t) ((uint32_t)(((t) >> 16) & 0xFFFF))
#define NEXT(t) ((uint32_t)((t) & 0xFFFF))

static struct {
    _Atomic uint64_t ticket;                 /* generation << 32 | chunks << 16 | next chunk */
    _Atomic int64_t done;                    /* chunks of the current job finished */
    _Atomic int64_t sleepers;                /* workers asleep on cv */
    _Atomic int64_t spin_ns;                 /* how long an idle worker spins before it sleeps */
    const int64_t *table, *bounds;           /* the current job (read after taking one of its chunks) */
    int64_t ncols;
    _Atomic int64_t helpers;                 /* workers that may take part in the current job */
    int nworkers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;   /* one job at a time */

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void cpu_relax(void) {
#ifdef CC_X86
    _mm_pause();
#endif
}

static void run_chunk(uint32_t i) {
    for (int64_t row = P.bounds[i]; row < P.bounds[i + 1]; row++) run_row(P.table + row * P.ncols);
}

/* Take and run chunks of job generation g until none is left. */
static void take_chunks(uint32_t g) {
    for (;;) {
        uint64_t t = atomic_load(&P.ticket);
        if (GEN(t) != g || NEXT(t) >= COUNT(t)) return;
        if (!atomic_compare_exchange_weak(&P.ticket, &t, t + 1)) continue;
        run_chunk(NEXT(t));
        atomic_fetch_add(&P.done, 1);
    }
}

static void *worker(void *arg) {
    const int64_t index = (int64_t)(intptr_t)arg;             /* 0 .. nworkers-1 */
    uint32_t seen = GEN(atomic_load(&P.ticket));
    for (;;) {
        const int64_t until = now_ns() + atomic_load(&P.spin_ns);
        for (int spins = 1; GEN(atomic_load(&P.ticket)) == seen; spins++) {
            cpu_relax();
            if (spins % 256 == 0 && now_ns() > until) {             /* idle long enough: sleep */
                pthread_mutex_lock(&P.mu);
                atomic_fetch_add(&P.sleepers, 1);  /* before the check: cc_pool_run reads it after publishing */
                while (GEN(atomic_load(&P.ticket)) == seen) pthread_cond_wait(&P.cv, &P.mu);
                atomic_fetch_sub(&P.sleepers, 1);
                pthread_mutex_unlock(&P.mu);
            }
        }
        seen = GEN(atomic_load(&P.ticket));
        if (index < atomic_load(&P.helpers)) take_chunks(seen);   /* fewer threads asked for: sit out */
    }
    return NULL;
}

static void after_fork_in_child(void) {
    pthread_mutex_init(&run_mu, NULL);
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cv, NULL);
    atomic_store(&P.sleepers, 0);
    P.nworkers = 0;                                              /* threads do not survive a fork */
}

/* Start workers up to `want` (caller holds run_mu). Returns how many there are. */
static int ensure_workers(int want) {
    static int registered = 0;
    if (!registered) {
        pthread_atfork(NULL, NULL, after_fork_in_child);
        registered = 1;
    }
    if (want > MAX_WORKERS) want = MAX_WORKERS;
    while (P.nworkers < want) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int err = pthread_create(&th, &attr, worker, (void *)(intptr_t)P.nworkers);
        pthread_attr_destroy(&attr);
        if (err) break;
        P.nworkers++;
    }
    return P.nworkers;
}

/* Run the job on up to `threads` threads (this one included); idle workers then spin `spin_us`
   microseconds before they sleep. Returns the number of threads that could take part. */
int64_t cc_pool_run(const int64_t *table, int64_t ncols, const int64_t *bounds, int64_t nchunks,
                    int64_t threads, int64_t spin_us) {
    if (threads < 2 || nchunks < 2 || nchunks > 0xFFFF || pthread_mutex_trylock(&run_mu) != 0) {
        for (int64_t row = bounds[0]; row < bounds[nchunks]; row++) run_row(table + row * ncols);
        return 1;
    }
    const int workers = ensure_workers((int)threads - 1);
    if (workers == 0) {
        pthread_mutex_unlock(&run_mu);
        for (int64_t row = bounds[0]; row < bounds[nchunks]; row++) run_row(table + row * ncols);
        return 1;
    }
    atomic_store(&P.spin_ns, spin_us * 1000);
    atomic_store(&P.helpers, threads - 1);
    P.table = table;
    P.bounds = bounds;
    P.ncols = ncols;
    atomic_store(&P.done, 0);
    const uint32_t g = GEN(atomic_load(&P.ticket)) + 1;
    atomic_store(&P.ticket, ((uint64_t)g << 32) | ((uint64_t)nchunks << 16));   /* publish */
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.mu);
    }
    take_chunks(g);
    for (int spins = 0; atomic_load(&P.done) < nchunks;) {        /* chunks a worker is still running */
        cpu_relax();
        if (++spins % 1024 == 0) sched_yield();
    }
    pthread_mutex_unlock(&run_mu);
    return 1 + (workers < threads - 1 ? workers : threads - 1);
}
