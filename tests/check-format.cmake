# Runs clang-format --dry-run -Werror on every C source and header of the project.
file(GLOB_RECURSE files
  ${SRC}/common/*.[ch] ${SRC}/raft/*.[ch] ${SRC}/store/*.[ch] ${SRC}/controller/*.[ch] ${SRC}/mysql/*.[ch]
  ${SRC}/client/*.[ch] ${SRC}/agent/*.[ch] ${SRC}/tests/unit/*.[ch] ${SRC}/tests/unit/lib/*.[ch])
set(bad "")
foreach(f ${files})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror --style=file ${f}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET WORKING_DIRECTORY ${SRC})
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "not clang-formatted (run clang-format -i):\n  ${bad}")
endif()
list(LENGTH files n)
message(STATUS "${n} files clang-formatted")
