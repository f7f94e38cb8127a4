/* SPDX-License-Identifier: BSD-3-Clause */
#include "testutil.h"
int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	return t_run();
}
