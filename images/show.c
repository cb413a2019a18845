/* show.c - image files and image directories to JSON (show.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "images/pages.h"
#include "images/pbjson.h"
#include "images/show.h"

/* the header's dump id (hex, as in error messages) and owner */
static void add_binding(json_object *o, uint64_t dump_id, unsigned owner)
{
	char id[24];

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)dump_id);
	json_object_object_add(o, "dump_id", json_object_new_string(id));
	json_object_object_add(o, "owner", json_object_new_int64(owner));
}

/* every page's checksum, by the pagemap beside it (and its parents); 0 if there is none */
static int verify_pages(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash - path + 1) : strdup(".");
	char pm[64];
	unsigned pid = img_owner_by_name(path);
	int err = -1, dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	free(dir);
	if (dfd < 0) {
		pr_perror("%s: cannot open its directory", path);
		return -1;
	}
	img_name(IMG_PAGEMAP, pid, pm, sizeof(pm));
	if (faccessat(dfd, pm, F_OK, 0)) {
		err = 0;	/* a lone pages file: its header only */
	} else {
		struct page_source ps;
		err = page_source_open(dfd, pid, 1, &ps);
		if (!err)
			page_source_close(&ps);
	}
	close(dfd);
	return err;
}

/*
 * pages-PID.img: the header page is checked, the data counted and, with
 * verify and a pagemap beside it, every page checked against its checksum
 */
static json_object *show_pages(const char *path, const struct img_desc *d, bool verify)
{
	struct img_hdr h;
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("cannot open %s", path);
		return NULL;
	}
	if (fstat(fd, &st)) {
		pr_perror("%s: stat failed", path);
		close(fd);
		return NULL;
	}
	got = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (got < 0) {
		pr_perror("%s: read failed", path);
		return NULL;
	}
	uint64_t want;
	if (img_hdr_check(&h, got, d->kind, path) || img_path_dump_id(path, &want) ||
	    img_hdr_bind_id(&h, img_owner_by_name(path), want, path))
		return NULL;
	if ((uint64_t)st.st_size < PAGES_DATA_OFFSET) {
		pr_err("%s: header page cut short (%lld of %lu bytes)", path,
		       (long long)st.st_size, PAGES_DATA_OFFSET);
		return NULL;
	}
	if ((st.st_size - PAGES_DATA_OFFSET) % PAGES_DATA_OFFSET) {
		pr_err("%s: size %lld is not a whole number of pages (truncated or corrupt)",
		       path, (long long)st.st_size);
		return NULL;
	}
	if (verify && verify_pages(path))
		return NULL;

	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "magic", json_object_new_string(d->name_fmt));
	json_object_object_add(o, "version", json_object_new_int64(h.version));
	json_object_object_add(o, "flags", json_object_new_int64(h.flags));
	add_binding(o, h.dump_id, h.owner);
	json_object_object_add(o, "data_offset", json_object_new_int64(PAGES_DATA_OFFSET));
	json_object_object_add(o, "nr_pages",
			       json_object_new_int64((st.st_size - PAGES_DATA_OFFSET) / PAGES_DATA_OFFSET));
	return o;
}

static json_object *show_entries(const char *path, const struct img_desc *d)
{
	struct img_entries e;
	json_object *o, *arr;

	if (img_read_path(path, d, &e))
		return NULL;
	o = json_object_new_object();
	arr = json_object_new_array_ext(e.nr);
	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		img_entries_free(&e);
		pr_err("%s: out of memory", path);
		return NULL;
	}
	for (size_t i = 0; i < e.nr; i++)
		json_object_array_add(arr, pbjson_message(e.msgs[i]));
	img_entries_free(&e);
	json_object_object_add(o, "magic", json_object_new_string(d->name_fmt));
	json_object_object_add(o, "version", json_object_new_int(IMG_FORMAT_VERSION));
	add_binding(o, e.dump_id, img_owner_by_name(path));
	json_object_object_add(o, "entries", arr);
	return o;
}

/* verify: a pages file's data too (a directory's is checked once, with the dump) */
static json_object *show_file(const char *path, bool verify)
{
	const struct img_desc *d = img_desc_by_name(path);

	if (!d) {
		pr_err("%s: not an image file this tool knows", path);
		return NULL;
	}
	return d->msg ? show_entries(path, d) : show_pages(path, d, verify);
}

json_object *img_show_file_json(const char *path)
{
	return show_file(path, true);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the names in dir that are image files, sorted; -1 on error (logged) */
static int list_images(const char *path, char ***out)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL;
	int nr = 0, cap = 0;

	if (!dir) {
		pr_perror("cannot open directory %s", path);
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!img_desc_by_name(de->d_name))
			continue;
		if (nr == cap) {
			cap = cap ? 2 * cap : 16;
			char **n = realloc(names, cap * sizeof(*n));
			if (!n)
				goto oom;
			names = n;
		}
		if (!(names[nr] = strdup(de->d_name)))
			goto oom;
		nr++;
	}
	closedir(dir);
	qsort(names, nr, sizeof(*names), cmp_names);
	*out = names;
	return nr;
oom:
	pr_err("%s: out of memory", path);
	while (nr--)
		free(names[nr]);
	free(names);
	closedir(dir);
	return -1;
}

json_object *img_show_dir_json(const char *path, int *nr_bad)
{
	char **names;
	int nr = list_images(path, &names);
	json_object *o;

	*nr_bad = 0;
	if (nr < 0)
		return NULL;
	o = json_object_new_object();
	for (int i = 0; i < nr; i++) {
		char *full;
		json_object *v = NULL;

		if (asprintf(&full, "%s/%s", path, names[i]) >= 0) {
			v = show_file(full, false);
			free(full);
		}
		if (!v)
			(*nr_bad)++;
		if (o)
			json_object_object_add(o, names[i], v);
		else
			json_object_put(v);
		free(names[i]);
	}
	free(names);
	if (!o)
		pr_err("%s: out of memory", path);
	return o;
}

int img_show_path(const char *path, FILE *out)
{
	struct stat st;
	json_object *o;
	int nr_bad = 0;

	if (stat(path, &st)) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		o = img_show_dir_json(path, &nr_bad);
	else
		o = img_show_file_json(path);
	if (!o)
		return -1;
	fprintf(out, "%s\n", json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (fflush(out) || ferror(out)) {
		pr_perror("cannot write the output");
		return -1;
	}
	return nr_bad ? -1 : 0;
}
