/* The I/O floor for GRIB: decode the values of every message, nothing else.
 * Usage: read_grib FILE  (prints the number of messages and the sum of values). */
#include <eccodes.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    int err = 0, count = 0;
    double sum = 0;
    codes_handle *h;
    double *values = NULL;
    size_t cap = 0;
    while ((h = codes_handle_new_from_file(NULL, f, PRODUCT_GRIB, &err)) != NULL) {
        size_t n = 0;
        codes_get_size(h, "values", &n);
        if (n > cap) { values = realloc(values, n * sizeof(double)); cap = n; }
        if (codes_get_double_array(h, "values", values, &n)) { fprintf(stderr, "decode failed\n"); return 1; }
        for (size_t i = 0; i < n; i++) sum += values[i];
        count++;
        codes_handle_delete(h);
    }
    if (err) { fprintf(stderr, "%s\n", codes_get_error_message(err)); return 1; }
    printf("%d messages, sum %.6e\n", count, sum);
    free(values);
    fclose(f);
    return 0;
}
