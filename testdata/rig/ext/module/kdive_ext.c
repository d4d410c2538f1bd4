// SPDX-License-Identifier: GPL-2.0
/*
 * kdive_ext: crash triggers and known objects for kdive's extended test dumps
 * (testdata/rig/ext, the "ext" corpus).
 *
 * Every object it makes is logged as a kernel log record
 * "TRUTH object NAME ADDR" (%px), so the rig's console (and the dump's own
 * log) carries it as ground truth; other facts are "TRUTH KEY VALUE" records.
 * Reading /proc/kdive_ext lists the objects made so far ("object NAME ADDR").
 *
 * Writing to /proc/kdive_ext:
 *   hung      block the writer in TASK_UNINTERRUPTIBLE (wait_for_completion on
 *             a completion nobody completes); khungtaskd reports it and, with
 *             kernel.hung_task_panic=1, panics
 *   softirq   arm a timer on this CPU and spin with preemption off until it
 *             fires: the callback runs in softirq context on the IRQ stack,
 *             interrupting the writer, prints TRUTH panic_pid/panic_comm and
 *             writes through a NULL pointer
 *   uaf       kmalloc(1024) A and C; kfree(A); kmalloc(1024) B, which reuses
 *             A (retried until it does, at most 8 times); kfree(C), which
 *             stays free; then a write through the stale pointer A (into B)
 *   poison    create cache kdive_poison (boot with slub_debug=FZPU,kdive_poison),
 *             allocate live, free and bad; free free and bad; write 16 bytes
 *             of 0x42 at offset 64 of bad (after free: "Poison overwritten"
 *             when the cache is validated)
 *   repoison  write the same bytes into bad again (validation restored them)
 *   leak      create cache kdive_leak (a constructor keeps it from being
 *             merged) and allocate KDIVE_EXT_LEAK objects, kept on a list
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/completion.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/preempt.h>
#include <linux/smp.h>
#include <linux/percpu.h>

#define KDIVE_EXT_MAGIC 0x6b64697665657874ULL /* "kdiveext" */
#define KDIVE_EXT_UAF_MAGIC 0x6b64697675616662ULL /* "kdivuafb": B's magic */
#define KDIVE_EXT_UAF_STALE 0x7374616c65777269ULL /* "stalewri": written through A */
#define KDIVE_EXT_LEAK 5000
#define KDIVE_EXT_LEAK_MAGIC 0x6b6469766c65616bULL /* "kdivleak" */
#define KDIVE_EXT_POISON_SIZE 200
#define KDIVE_EXT_POISON_OFF 64
#define KDIVE_EXT_POISON_LEN 16
#define KDIVE_EXT_POISON_BYTE 0x42
#define KDIVE_EXT_MAX_OBJECTS 32

/* Module state: kmalloc'd at load. */
struct kdive_ext_state {
	u64 magic;
	char name[32];
	unsigned long counter;
};

/* A kmalloc-1k object (exactly 1024 bytes). */
struct kdive_ext_uaf {
	u64 magic;
	u64 owner;
	u64 victim;
	u8 pad[1024 - 24];
};

/* An object of the kdive_leak cache. */
struct kdive_ext_leak {
	u64 magic;
	u32 index;
	u32 ctor_seen;
	struct list_head node;
	char tag[24];
	u8 payload[64];
};

/* Module data: known values and the objects, found through the module's symbols. */
struct kdive_ext_global {
	u64 magic;
	struct kdive_ext_state *state;
	unsigned long triggers;
	struct kdive_ext_uaf *uaf_live;
	struct kmem_cache *poison_cache;
	void *poison_live;
	void *poison_bad;
	struct kmem_cache *leak_cache;
	struct list_head leak_list;
	unsigned long leak_count;
};

struct kdive_ext_global kdive_ext_global = {
	.magic = KDIVE_EXT_MAGIC,
	.leak_list = LIST_HEAD_INIT(kdive_ext_global.leak_list),
};
EXPORT_SYMBOL_GPL(kdive_ext_global);

/* Always NULL; read through READ_ONCE so the compiler cannot see it. */
static struct kdive_ext_state *kdive_ext_null_state;

static DECLARE_COMPLETION(kdive_ext_never);
static struct timer_list kdive_ext_timer;
static struct proc_dir_entry *kdive_ext_proc;

static struct {
	const char *name;
	void *addr;
} kdive_ext_objects[KDIVE_EXT_MAX_OBJECTS];
static int kdive_ext_nobjects;

static void kdive_ext_record(const char *name, void *addr)
{
	if (kdive_ext_nobjects < KDIVE_EXT_MAX_OBJECTS) {
		kdive_ext_objects[kdive_ext_nobjects].name = name;
		kdive_ext_objects[kdive_ext_nobjects].addr = addr;
		kdive_ext_nobjects++;
	}
	printk(KERN_NOTICE "TRUTH object %s %px\n", name, addr);
}

static noinline void kdive_ext_null_deref(void)
{
	struct kdive_ext_state *s = READ_ONCE(kdive_ext_null_state);

	WRITE_ONCE(s->counter, 0x6b646976ULL);
}

/* ---- hung ---- */

static noinline void kdive_ext_hang(void)
{
	wait_for_completion(&kdive_ext_never);
}

/* ---- softirq ---- */

static void kdive_ext_timer_fn(struct timer_list *t)
{
	printk(KERN_EMERG "TRUTH panic_pid %d\n", task_pid_nr(current));
	printk(KERN_EMERG "TRUTH panic_comm %s\n", current->comm);
	printk(KERN_EMERG "TRUTH panic_context in_serving_softirq=%d cpu=%d\n",
	       in_serving_softirq() ? 1 : 0, smp_processor_id());
	kdive_ext_null_deref();
}

/* Spins (the task stays current on this CPU) until the timer has fired. */
static noinline void kdive_ext_spin(unsigned long end)
{
	while (time_before(jiffies, end))
		cpu_relax();
}

static void kdive_ext_softirq(void)
{
	preempt_disable();
	kdive_ext_timer.expires = jiffies + 2;
	add_timer_on(&kdive_ext_timer, smp_processor_id());
	kdive_ext_spin(jiffies + 10 * HZ);
	preempt_enable();
	pr_err("kdive_ext: the timer did not fire\n");
}

/* ---- uaf ---- */

static noinline void kdive_ext_stale_write(struct kdive_ext_uaf *stale)
{
	WRITE_ONCE(stale->victim, KDIVE_EXT_UAF_STALE);
}

static int kdive_ext_uaf(void)
{
	struct kdive_ext_uaf *a = NULL, *b = NULL, *c = NULL;
	int try;

	for (try = 1; try <= 8; try++) {
		preempt_disable();
		a = kmalloc(sizeof(*a), GFP_ATOMIC);
		c = kmalloc(sizeof(*c), GFP_ATOMIC);
		if (a)
			kfree(a);
		b = kmalloc(sizeof(*b), GFP_ATOMIC);
		if (c)
			kfree(c);
		preempt_enable();
		if (!a || !b || !c) {
			kfree(b);
			return -ENOMEM;
		}
		if (a == b)
			break;
		if (try < 8)
			kfree(b);
	}
	b->magic = KDIVE_EXT_UAF_MAGIC;
	b->owner = 0x42;
	kdive_ext_global.uaf_live = b;
	kdive_ext_stale_write(a);
	kdive_ext_record("uaf_a", a);
	kdive_ext_record("uaf_b", b);
	kdive_ext_record("uaf_c", c);
	printk(KERN_NOTICE "TRUTH uaf_same %d\n", a == b ? 1 : 0);
	printk(KERN_NOTICE "TRUTH uaf_tries %d\n", try > 8 ? 8 : try);
	printk(KERN_NOTICE "TRUTH uaf_size %zu\n", sizeof(*a));
	printk(KERN_NOTICE "TRUTH uaf_b_magic 0x%llx\n", b->magic);
	printk(KERN_NOTICE "TRUTH uaf_b_victim 0x%llx\n", READ_ONCE(b->victim));
	return 0;
}

/* ---- poison ---- */

static noinline void kdive_ext_write_freed(void *obj)
{
	memset((u8 *)obj + KDIVE_EXT_POISON_OFF, KDIVE_EXT_POISON_BYTE, KDIVE_EXT_POISON_LEN);
}

static int kdive_ext_poison(void)
{
	struct kmem_cache *c;
	void *live, *freed, *bad;

	if (kdive_ext_global.poison_cache)
		return -EBUSY;
	c = kmem_cache_create("kdive_poison", KDIVE_EXT_POISON_SIZE, 8, 0, NULL);
	if (!c)
		return -ENOMEM;
	live = kmem_cache_alloc(c, GFP_KERNEL);
	freed = kmem_cache_alloc(c, GFP_KERNEL);
	bad = kmem_cache_alloc(c, GFP_KERNEL);
	if (!live || !freed || !bad)
		return -ENOMEM;
	memset(live, 0x4c, KDIVE_EXT_POISON_SIZE);
	kmem_cache_free(c, freed);
	kmem_cache_free(c, bad);
	kdive_ext_write_freed(bad);
	kdive_ext_global.poison_cache = c;
	kdive_ext_global.poison_live = live;
	kdive_ext_global.poison_bad = bad;
	kdive_ext_record("poison_cache", c);
	kdive_ext_record("poison_live", live);
	kdive_ext_record("poison_free", freed);
	kdive_ext_record("poison_bad", bad);
	printk(KERN_NOTICE "TRUTH poison_size %d\n", KDIVE_EXT_POISON_SIZE);
	printk(KERN_NOTICE "TRUTH poison_write %d %d 0x%x\n", KDIVE_EXT_POISON_OFF,
	       KDIVE_EXT_POISON_LEN, KDIVE_EXT_POISON_BYTE);
	return 0;
}

/* ---- leak ---- */

static void kdive_ext_leak_ctor(void *p)
{
	struct kdive_ext_leak *o = p;

	o->magic = KDIVE_EXT_LEAK_MAGIC;
	o->ctor_seen = 1;
}

static int kdive_ext_leak(void)
{
	struct kdive_ext_leak *o;
	struct kmem_cache *c;
	unsigned long i;

	if (kdive_ext_global.leak_cache)
		return -EBUSY;
	c = kmem_cache_create("kdive_leak", sizeof(struct kdive_ext_leak), 0, 0,
			      kdive_ext_leak_ctor);
	if (!c)
		return -ENOMEM;
	kdive_ext_global.leak_cache = c;
	kdive_ext_record("leak_cache", c);
	for (i = 0; i < KDIVE_EXT_LEAK; i++) {
		o = kmem_cache_alloc(c, GFP_KERNEL);
		if (!o)
			break;
		o->index = i;
		snprintf(o->tag, sizeof(o->tag), "leak-%lu", i);
		list_add_tail(&o->node, &kdive_ext_global.leak_list);
		kdive_ext_global.leak_count++;
		if (i == 0 || i == 1 || i == KDIVE_EXT_LEAK / 2 || i == KDIVE_EXT_LEAK - 1)
			printk(KERN_NOTICE "TRUTH leak_obj %lu %px\n", i, o);
	}
	printk(KERN_NOTICE "TRUTH leak_count %lu\n", kdive_ext_global.leak_count);
	printk(KERN_NOTICE "TRUTH leak_objsize %zu\n", sizeof(struct kdive_ext_leak));
	return kdive_ext_global.leak_count == KDIVE_EXT_LEAK ? 0 : -ENOMEM;
}

/*
 * flood: KDIVE_EXT_FLOOD records at KERN_DEBUG (below the console's level, so
 * they go to the ring only), enough to wrap both the 128 KiB data ring and the
 * 4096-entry descriptor ring (CONFIG_LOG_BUF_SHIFT=17). Record I is
 * "kdive-flood %05d " and then (I*37)%251 letters 'a'+(I+J)%26; every 500th
 * (I%500 == 499) carries a second line "  continued %05d" in the same record.
 * Tests regenerate the text from I.
 */
#define KDIVE_EXT_FLOOD 4500
static char kdive_ext_flood_buf[256];

static void kdive_ext_flood(void)
{
	int i, j, n;

	for (i = 0; i < KDIVE_EXT_FLOOD; i++) {
		n = (i * 37) % 251;
		for (j = 0; j < n; j++)
			kdive_ext_flood_buf[j] = 'a' + (i + j) % 26;
		kdive_ext_flood_buf[n] = '\0';
		if (i % 500 == 499)
			printk(KERN_DEBUG "kdive-flood %05d %s\n  continued %05d\n",
			       i, kdive_ext_flood_buf, i);
		else
			printk(KERN_DEBUG "kdive-flood %05d %s\n", i, kdive_ext_flood_buf);
	}
	printk(KERN_NOTICE "TRUTH flood_count %d\n", KDIVE_EXT_FLOOD);
}

/* ---- /proc/kdive_ext ---- */

static int kdive_ext_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < kdive_ext_nobjects; i++)
		seq_printf(m, "object %s %px\n", kdive_ext_objects[i].name,
			   kdive_ext_objects[i].addr);
	return 0;
}

static int kdive_ext_open(struct inode *inode, struct file *file)
{
	return single_open(file, kdive_ext_show, NULL);
}

static ssize_t kdive_ext_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char cmd[16];
	size_t n = min(len, sizeof(cmd) - 1);
	int err = 0;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = '\0';
	strim(cmd);
	kdive_ext_global.triggers++;

	if (!strcmp(cmd, "hung"))
		kdive_ext_hang();
	else if (!strcmp(cmd, "softirq"))
		kdive_ext_softirq();
	else if (!strcmp(cmd, "uaf"))
		err = kdive_ext_uaf();
	else if (!strcmp(cmd, "poison"))
		err = kdive_ext_poison();
	else if (!strcmp(cmd, "repoison")) {
		if (!kdive_ext_global.poison_bad)
			return -EINVAL;
		kdive_ext_write_freed(kdive_ext_global.poison_bad);
	} else if (!strcmp(cmd, "leak"))
		err = kdive_ext_leak();
	else if (!strcmp(cmd, "flood"))
		kdive_ext_flood();
	else
		return -EINVAL;
	return err ? err : len;
}

static const struct proc_ops kdive_ext_proc_ops = {
	.proc_open = kdive_ext_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = kdive_ext_write,
};

/*
 * A module per-CPU variable (lives in the module's .data..percpu section,
 * placed by the kernel in the per-CPU area): each CPU's copy holds its CPU
 * number and a tag; "TRUTH pcpu CPU ADDR SEQ" gives every copy's address.
 */
struct kdive_ext_pcpu {
	unsigned long magic;
	int cpu;
	unsigned long seq;
};
static DEFINE_PER_CPU(struct kdive_ext_pcpu, kdive_ext_pcpu);

static void kdive_ext_pcpu_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kdive_ext_pcpu *p = per_cpu_ptr(&kdive_ext_pcpu, cpu);

		p->magic = KDIVE_EXT_MAGIC;
		p->cpu = cpu;
		p->seq = 1000 + cpu;
		printk(KERN_NOTICE "TRUTH pcpu %d %px %lu\n", cpu, p, p->seq);
	}
}

static int __init kdive_ext_init(void)
{
	struct kdive_ext_state *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->magic = KDIVE_EXT_MAGIC;
	strscpy(s->name, "kdive-ext-state", sizeof(s->name));
	kdive_ext_proc = proc_create("kdive_ext", 0600, NULL, &kdive_ext_proc_ops);
	if (!kdive_ext_proc) {
		kfree(s);
		return -ENOMEM;
	}
	timer_setup(&kdive_ext_timer, kdive_ext_timer_fn, 0);
	kdive_ext_global.state = s;
	kdive_ext_record("state", s);
	kdive_ext_record("global", &kdive_ext_global);
	kdive_ext_pcpu_init();
	return 0;
}

static void __exit kdive_ext_exit(void)
{
	struct kdive_ext_leak *o, *tmp;

	proc_remove(kdive_ext_proc);
	del_timer_sync(&kdive_ext_timer);
	list_for_each_entry_safe(o, tmp, &kdive_ext_global.leak_list, node) {
		list_del(&o->node);
		kmem_cache_free(kdive_ext_global.leak_cache, o);
	}
	kmem_cache_destroy(kdive_ext_global.leak_cache);
	if (kdive_ext_global.poison_live)
		kmem_cache_free(kdive_ext_global.poison_cache, kdive_ext_global.poison_live);
	kmem_cache_destroy(kdive_ext_global.poison_cache);
	kfree(kdive_ext_global.uaf_live);
	kfree(kdive_ext_global.state);
}

module_init(kdive_ext_init);
module_exit(kdive_ext_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdive test-dump rig, ext set: hung task, softirq oops, slab scenarios");
