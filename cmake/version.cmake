# Writes version.c with the project version and the git commit (+dirty), only when it changed.
execute_process(COMMAND git -C ${SRC} rev-parse --short=12 HEAD OUTPUT_VARIABLE C
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE RC)
if(NOT RC EQUAL 0 OR C STREQUAL "")
  set(C "unknown")
else()
  execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
                  OUTPUT_VARIABLE D OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT D STREQUAL "")
    set(C "${C}-dirty")
  endif()
endif()
set(TEXT "const char elm_version[] = \"${VERSION}\";\nconst char elm_git_commit[] = \"${C}\";\n")
if(EXISTS ${OUT})
  file(READ ${OUT} OLD)
endif()
if(NOT "${OLD}" STREQUAL "${TEXT}")
  file(WRITE ${OUT} "${TEXT}")
endif()
