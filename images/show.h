/*
 * show.h - decoding image files to JSON for `criu show`.
 *
 * Owns what the decoded form of a file and of a directory looks like:
 *   entry images: {"magic": "core-%u.img", "version": N, "entries": [...]}
 *   pages images: {"magic": "pages-%u.img", "version": N, "flags": F,
 *                  "data_offset": 4096, "nr_pages": N}
 *   a directory:  {"NAME": <decoded file>, ...} for every image file in it,
 *                 sorted by name; other files are skipped.
 * Messages are rendered by pbjson.c.  Errors are logged once, naming the
 * file; callers only see the return code.
 */
#ifndef IMAGES_SHOW_H
#define IMAGES_SHOW_H

#include <stdio.h>
#include <json-c/json.h>

/* decodes one image file; NULL on error (logged) */
json_object *img_show_file_json(const char *path);
/*
 * decodes every image file of a directory; a file that fails to decode is
 * shown as null and makes *nr_bad count it.  NULL if the directory cannot
 * be read (logged).
 */
json_object *img_show_dir_json(const char *path, int *nr_bad);
/* decodes a file or a directory and prints it as pretty JSON; 0 or -1 */
int img_show_path(const char *path, FILE *out);

#endif /* IMAGES_SHOW_H */
