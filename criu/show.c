/* show.c - the `criu show FILE|DIR` action: image files as JSON on stdout. */
#include <stdio.h>

#include "log.h"
#include "opts.h"
#include "show.h"

int cr_show(const struct opts *o)
{
	if (o->nr_args != 1) {
		pr_err("show: needs exactly one FILE or DIR argument");
		return 1;
	}
	return img_show_path(o->args[0], stdout) ? 1 : 0;
}
