// SPDX-License-Identifier: GPL-2.0
/*
 * kdive_rig: crash triggers and known objects for kdive's test dumps.
 *
 * At load it creates a few objects and logs their addresses with %px
 * ("kdive_rig: object NAME ADDR"); /proc/kdive_rig lists the same lines
 * ("object NAME ADDR") so the guest can print them as ground truth.
 *
 * Writing to /proc/kdive_rig:
 *   warm  queue a harmless work item on the crash CPU and wait for it (so the
 *         worker pool already has a spare idle worker before tasks are counted)
 *   oops  NULL-pointer write in process context (the writing task)
 *   wq    NULL-pointer write in a work item on kdive_rig_wq (a kworker);
 *         the writer waits; the kworker prints "TRUTH panic_pid/panic_comm"
 *   bug   BUG_ON() in process context (the writing task)
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/list.h>
#include <linux/workqueue.h>
#include <linux/completion.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/string.h>

#define KDIVE_RIG_MAGIC 0x6b64697665726967ULL /* "kdiverig" */
#define KDIVE_RIG_CPU 0
#define KDIVE_RIG_ITEMS 3

struct kdive_rig_item {
	struct list_head node;
	u32 index;
	u32 value;
	char label[16];
};

struct kdive_rig_state {
	u64 magic;
	char name[32];
	unsigned long counter;
	struct list_head items;
	struct work_struct crash_work;
	struct work_struct warm_work;
	struct completion crash_done;
	void *vbuf;
};

/* Module data: a global with a known value, found through the module's symbols. */
struct kdive_rig_global {
	u64 magic;
	struct kdive_rig_state *state;
	unsigned long triggers;
};

struct kdive_rig_global kdive_rig_global = { .magic = KDIVE_RIG_MAGIC };
EXPORT_SYMBOL_GPL(kdive_rig_global);

/* Always NULL; read through READ_ONCE so the compiler cannot see it. */
static struct kdive_rig_state *kdive_rig_null_state;

static struct workqueue_struct *kdive_rig_wq;
static struct kdive_rig_state *kdive_rig_state;
static struct proc_dir_entry *kdive_rig_proc;

static noinline void kdive_rig_null_deref(void)
{
	struct kdive_rig_state *s = READ_ONCE(kdive_rig_null_state);

	WRITE_ONCE(s->counter, 0x6b646976ULL);
}

static noinline void kdive_rig_bug(struct kdive_rig_state *s)
{
	BUG_ON(READ_ONCE(s->magic) == KDIVE_RIG_MAGIC);
}

static void kdive_rig_crash_work_fn(struct work_struct *work)
{
	struct kdive_rig_state *s = container_of(work, struct kdive_rig_state, crash_work);

	WRITE_ONCE(s->counter, s->counter + 1);
	printk(KERN_EMERG "TRUTH panic_pid %d\n", task_pid_nr(current));
	printk(KERN_EMERG "TRUTH panic_comm %s\n", current->comm);
	kdive_rig_null_deref();
	complete(&s->crash_done);
}

static void kdive_rig_warm_work_fn(struct work_struct *work)
{
	struct kdive_rig_state *s = container_of(work, struct kdive_rig_state, warm_work);

	WRITE_ONCE(s->counter, s->counter + 1);
}

static int kdive_rig_show(struct seq_file *m, void *v)
{
	struct kdive_rig_state *s = kdive_rig_state;
	struct kdive_rig_item *it;

	seq_printf(m, "object state %px\n", s);
	seq_printf(m, "object crash_work %px\n", &s->crash_work);
	seq_printf(m, "object warm_work %px\n", &s->warm_work);
	seq_printf(m, "object wq %px\n", kdive_rig_wq);
	seq_printf(m, "object global %px\n", &kdive_rig_global);
	seq_printf(m, "object vbuf %px\n", s->vbuf);
	list_for_each_entry(it, &s->items, node)
		seq_printf(m, "object item%u %px\n", it->index, it);
	return 0;
}

static int kdive_rig_open(struct inode *inode, struct file *file)
{
	return single_open(file, kdive_rig_show, NULL);
}

static ssize_t kdive_rig_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct kdive_rig_state *s = kdive_rig_state;
	char cmd[16];
	size_t n = min(len, sizeof(cmd) - 1);

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = '\0';
	strim(cmd);
	kdive_rig_global.triggers++;

	if (!strcmp(cmd, "warm")) {
		queue_work_on(KDIVE_RIG_CPU, kdive_rig_wq, &s->warm_work);
		flush_work(&s->warm_work);
	} else if (!strcmp(cmd, "oops")) {
		kdive_rig_null_deref();
	} else if (!strcmp(cmd, "wq")) {
		queue_work_on(KDIVE_RIG_CPU, kdive_rig_wq, &s->crash_work);
		wait_for_completion_timeout(&s->crash_done, 60 * HZ);
	} else if (!strcmp(cmd, "bug")) {
		kdive_rig_bug(s);
	} else {
		return -EINVAL;
	}
	return len;
}

static const struct proc_ops kdive_rig_proc_ops = {
	.proc_open = kdive_rig_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = kdive_rig_write,
};

static void kdive_rig_free(struct kdive_rig_state *s)
{
	struct kdive_rig_item *it, *tmp;

	list_for_each_entry_safe(it, tmp, &s->items, node) {
		list_del(&it->node);
		kfree(it);
	}
	vfree(s->vbuf);
	kfree(s);
}

static int __init kdive_rig_init(void)
{
	struct kdive_rig_state *s;
	struct kdive_rig_item *it;
	u32 i;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->magic = KDIVE_RIG_MAGIC;
	strscpy(s->name, "kdive-rig-state", sizeof(s->name));
	INIT_LIST_HEAD(&s->items);
	INIT_WORK(&s->crash_work, kdive_rig_crash_work_fn);
	INIT_WORK(&s->warm_work, kdive_rig_warm_work_fn);
	init_completion(&s->crash_done);
	for (i = 0; i < KDIVE_RIG_ITEMS; i++) {
		it = kzalloc(sizeof(*it), GFP_KERNEL);
		if (!it)
			goto nomem;
		it->index = i;
		it->value = 0x1000 + i;
		snprintf(it->label, sizeof(it->label), "item-%u", i);
		list_add_tail(&it->node, &s->items);
	}
	s->vbuf = vmalloc(4 * PAGE_SIZE);
	if (!s->vbuf)
		goto nomem;
	for (i = 0; i < 4 * PAGE_SIZE / sizeof(u64); i++)
		((u64 *)s->vbuf)[i] = KDIVE_RIG_MAGIC ^ i;

	kdive_rig_wq = alloc_workqueue("kdive_rig_wq", 0, 0);
	if (!kdive_rig_wq)
		goto nomem;
	kdive_rig_proc = proc_create("kdive_rig", 0600, NULL, &kdive_rig_proc_ops);
	if (!kdive_rig_proc) {
		destroy_workqueue(kdive_rig_wq);
		goto nomem;
	}
	kdive_rig_state = s;
	kdive_rig_global.state = s;

	pr_info("kdive_rig: object state %px\n", s);
	pr_info("kdive_rig: object crash_work %px\n", &s->crash_work);
	pr_info("kdive_rig: object warm_work %px\n", &s->warm_work);
	pr_info("kdive_rig: object wq %px\n", kdive_rig_wq);
	pr_info("kdive_rig: object global %px\n", &kdive_rig_global);
	pr_info("kdive_rig: object vbuf %px\n", s->vbuf);
	list_for_each_entry(it, &s->items, node)
		pr_info("kdive_rig: object item%u %px\n", it->index, it);
	return 0;

nomem:
	kdive_rig_free(s);
	return -ENOMEM;
}

static void __exit kdive_rig_exit(void)
{
	proc_remove(kdive_rig_proc);
	destroy_workqueue(kdive_rig_wq);
	kdive_rig_free(kdive_rig_state);
}

module_init(kdive_rig_init);
module_exit(kdive_rig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdive test-dump rig: crash triggers and known objects");
