// svg.h — small inline-SVG charts for the HTML report: line charts, horizontal bar charts,
// heatmaps. Every chart is an <svg class="chart" data-points="N"> so tests can see it has data.
#ifndef ELM_SVG_H
#define ELM_SVG_H

#include "engine/base/buf.h"

typedef struct ElmSeries {
    const char *name;
    const double *x, *y;
    int n;
} ElmSeries;

// Lines over shared axes (up to 8 series), with ticks, labels and a legend.
void elm_svg_line_chart(ElmBuf *b, const char *title, const char *xlabel, const char *ylabel,
                        const ElmSeries *series, int n_series, int width, int height);

// Horizontal bars: n labels, each with n_series values (values[s][i]); value_fmt like "%.3f".
void elm_svg_bar_chart(ElmBuf *b, const char *title, const char *const *labels, int n,
                       const double *const *values, const char *const *series_names, int n_series,
                       const char *value_fmt, int width);

// A heatmap with the value written in each cell (confusion matrices), rows x cols row-major.
void elm_svg_heatmap(ElmBuf *b, const char *title, const char *const *row_labels,
                     const char *const *col_labels, const double *values, int rows, int cols,
                     const char *value_fmt, int cell);

// The palette used by every chart (index wraps).
const char *elm_svg_color(int i);

#endif
