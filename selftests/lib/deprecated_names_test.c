// SPDX-License-Identifier: GPL-2.0
/*
 * Code written against libvshm 1.2 still builds and behaves the same: the
 * names 1.3 replaced (include/vshm/deprecated.h) are aliases of the new ones,
 * reached through the umbrella header's old name, <vshm/vshm.h>.
 * The rest of the tree builds with VSHM_NO_DEPRECATED; this file alone
 * builds without it, as a program outside the tree would.
 */
#undef VSHM_NO_DEPRECATED
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <sys/mman.h>
#include <unistd.h>

/* The umbrella header's name before 1.3.0 (generated, see Makefile). */
#include <vshm/vshm.h>

#include "kselftest_harness.h"

#define PG 4096u

/* Proves: the old enum, constants and accessor name the new ones. */
TEST(old_region_mode_names)
{
	enum vshm_backend_type old_type = VSHM_BACKEND_TABLE;
	enum vshm_region_mode mode = old_type;
	struct vshm_region_stats st;
	struct vshm_region *r;

	EXPECT_EQ(VSHM_REGION_MODE_AUTO, VSHM_BACKEND_AUTO);
	EXPECT_EQ(VSHM_REGION_MODE_KMOD, VSHM_BACKEND_KMOD);
	EXPECT_EQ(VSHM_REGION_MODE_MMAP, VSHM_BACKEND_MMAP);
	EXPECT_EQ(VSHM_REGION_MODE_TABLE, mode);
	ASSERT_EQ(0, vshm_region_create(VSHM_BACKEND_MMAP, 4 * PG, 0, &r));
	EXPECT_EQ(VSHM_REGION_MODE_MMAP, vshm_region_backend(r));
	EXPECT_EQ(vshm_region_mode(r), vshm_region_backend(r));
	ASSERT_EQ(0, vshm_region_info(r, &st));
	EXPECT_EQ(VSHM_REGION_MODE_MMAP, st.backend);
	EXPECT_EQ(st.region_mode, st.backend);
	vshm_region_destroy(r);
}

/* Proves: struct vshm_mapping is the LIST_MAPPINGS entry, struct vshm_mapping_entry. */
TEST(old_mapping_entry_name)
{
	struct vshm_mapping old[1];
	struct vshm_mapping_entry *e = old;
	struct vshm_region *r;
	int fd;

	EXPECT_EQ(sizeof(struct vshm_mapping_entry), sizeof(struct vshm_mapping));
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_MMAP, 4 * PG, 0, &r));
	fd = memfd_create("deprecated-names", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, PG));
	ASSERT_EQ(0, vshm_region_map(r, fd, 0, PG, PG, VSHM_REGION_WRITE));
	ASSERT_EQ(1, vshm_region_mappings(r, 0, old, 1));
	EXPECT_EQ(PG, e->shm_offset);
	EXPECT_EQ(PG, e->len);
	close(fd);
	vshm_region_destroy(r);
}

TEST_HARNESS_MAIN
