/* The I/O floor for NetCDF: read every value of one variable, nothing else.
 * Usage: read_nc FILE VAR  (prints the number of values and their sum). */
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(e) do { int rc_ = (e); if (rc_) { fprintf(stderr, "%s\n", nc_strerror(rc_)); return 1; } } while (0)

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s FILE VAR\n", argv[0]); return 2; }
    int nc, var, ndims, dims[NC_MAX_VAR_DIMS];
    CHECK(nc_open(argv[1], NC_NOWRITE, &nc));
    CHECK(nc_inq_varid(nc, argv[2], &var));
    CHECK(nc_inq_varndims(nc, var, &ndims));
    CHECK(nc_inq_vardimid(nc, var, dims));
    size_t n = 1;
    for (int i = 0; i < ndims; i++) { size_t len; CHECK(nc_inq_dimlen(nc, dims[i], &len)); n *= len; }
    float *data = malloc(n * sizeof(float));
    if (!data) return 1;
    CHECK(nc_get_var_float(nc, var, data));
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += data[i];
    printf("%zu values, sum %.6e\n", n, sum);
    free(data);
    return nc_close(nc);
}
